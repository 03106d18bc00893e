"""Versioned SQL migrations, applied in order by ``ari-app db upgrade``.

File names are ``NNNN_short_name.sql``; a migration, once released, is never edited:
a change is a new file.
"""
