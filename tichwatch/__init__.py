"""TichWatch: flood and construction-dust monitoring for a commune.

Everything installs under this one name. The subpackages live at the top of the repository (core/, store/, ingest/,
detectors/, alerts/, public/, historian/, api/, app/, tools/, config/) and are mapped here by pyproject.toml's
`package-dir`, so nothing generic (`config`, `api`, …) lands at the top of a user's environment.
"""
