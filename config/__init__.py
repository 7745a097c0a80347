"""Settings schema, loader and the default Kiều Phú deployment file."""
