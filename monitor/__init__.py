"""The monitor, one sub-package per stage in the order data flows: settings → feeds → matching →
poll → service, with the command line (cli) on top."""
