from storybang.cli import main

main()
