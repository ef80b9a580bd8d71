"""The bottom layer: image loading, atomic files, hashing, the data manifest and the audit.

Nothing here imports :mod:`poxscan.features`, :mod:`poxscan.pipelines` or the applications.
"""
