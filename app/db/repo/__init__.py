"""The data-access layer: keyword-only functions, one module per table (or pair of tables).

Routers and middleware never build SQL: they call services, which call these. Every function that
reads a tenant's rows takes `tenant_id` (a webhook token and an API key hash are the exceptions:
they are how the tenant is found).
"""
