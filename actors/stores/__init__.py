"""Storage used by the actors: Redis read models and pipeline metrics, the PostgreSQL
order/fill ledger, the configuration store, and their embedded fallbacks.

Import from the modules (`actors.stores.read_models`, `.ledger`, `.config_store`,
`.migrations`); the import path is the API.
"""

__all__: list[str] = []
