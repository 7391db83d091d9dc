from creditgauge.cli import main

main()
