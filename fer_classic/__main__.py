from .console import main

if __name__ == "__main__":  # a process started by multiprocessing's spawn re-imports this module
    main()
