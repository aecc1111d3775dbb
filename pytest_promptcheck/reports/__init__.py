"""Report writers by format (``--promptcheck-report``): the registry, and one module per format."""
