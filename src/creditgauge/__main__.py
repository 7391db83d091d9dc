"""`python -m creditgauge`: the same command line as the `creditgauge` script."""

from creditgauge.cli import main

if __name__ == "__main__":
    main()
