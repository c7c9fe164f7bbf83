"""The default armswatch.toml and watchlist.toml, shipped inside the package as package data.

Both files here are symbolic links to the checkout's config/, the one copy people edit (and that
`make run` uses); building a wheel copies their content in. Read them through
monitor.settings.location, which uses importlib.resources.
"""
