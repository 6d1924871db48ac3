"""The demo site's static-files storage for the scaled profile (DEBUG off, docs/deployment.md)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's hashed, compressed files, with the ``import`` statements of the app's ES
    modules (inbox/static/inbox/) rewritten to the hashed names too: a page then loads one
    consistent, forever-cacheable set of modules, never a new entry module importing a sibling
    from before a deploy (unhashed names are cached for a minute only)."""

    support_js_module_import_aggregation = True
