from mahnwerk.cli import main

main()
