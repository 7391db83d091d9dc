"""The only way into the database: schema, engine, migrations, writes and the read queries analysis needs."""
