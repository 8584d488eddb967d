"""Workflows as plain functions on models: no click, no printing, no file access but the store."""
