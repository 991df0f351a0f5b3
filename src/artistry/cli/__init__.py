"""The `artistry` command line: thin wrappers from flags to one library call each."""
