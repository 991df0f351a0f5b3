"""artistry studio: a local web app to start, watch, compare and explore runs.

server.py holds the routes only; runinfo.py reads run directories, jobs.py starts and watches
training processes (runner.py is the small parent each one runs under), explore.py makes images
through the same `artistry.load()` API the CLI uses, and paths.py keeps file access inside the
allowed folders.
"""
