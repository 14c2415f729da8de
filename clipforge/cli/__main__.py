from clipforge.cli.app import main

main()
