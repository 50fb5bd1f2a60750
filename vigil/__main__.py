from vigil.cli import main

# Guarded: processes started with the "spawn" method import this module again.
if __name__ == "__main__":
    main()
