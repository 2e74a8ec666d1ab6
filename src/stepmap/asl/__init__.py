"""The Amazon States Language, pure: load, validate, paths, intrinsics, payload templates, choice rules.

Nothing here runs a workflow or touches a backend; this package imports nothing of stepmap but
``stepmap.errors``.
"""
