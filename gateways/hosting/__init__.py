"""Hosts for a FunctionApp: an aiohttp server, and a synchronous bridge for Flask-based runtimes."""
