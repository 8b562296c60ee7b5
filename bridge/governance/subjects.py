"""The catalog's `<topic>-value` subjects in the schema registry: check them, register them."""

from __future__ import annotations

from bridge.governance.registry import RegistryClient, subject_for_topic
from schemas.avro import catalog_topics, schema_for_topic

__all__ = ["registry_check", "registry_register"]


async def registry_check(registry: RegistryClient) -> list[str]:
    """Global compatibility is BACKWARD, and every subject accepts the generated schema."""
    problems: list[str] = []
    level = await registry.get_compatibility()
    if level != "BACKWARD":
        problems.append(
            f"registry global compatibility is {level or 'unset'}, expected BACKWARD: run "
            "`alpha-panda schemas register`"
        )
    for topic in catalog_topics():
        schema = schema_for_topic(topic)
        subject = subject_for_topic(topic)
        if schema is not None and not await registry.is_compatible(subject, schema):
            problems.append(f"registry subject {subject} would reject the generated schema")
    return problems


async def registry_register(registry: RegistryClient, *, dry_run: bool = False) -> dict[str, str]:
    """Set global BACKWARD, then register each catalog topic's `<topic>-value` subject."""
    if not dry_run:
        await registry.set_compatibility("BACKWARD")
    results: dict[str, str] = {}
    for topic in catalog_topics():
        schema = schema_for_topic(topic)
        if schema is None:
            continue
        subject = subject_for_topic(topic)
        if not await registry.is_compatible(subject, schema):
            results[subject] = "incompatible with the registered versions"
            continue
        if dry_run:
            results[subject] = "compatible"
            continue
        results[subject] = f"id {await registry.register(subject, schema)}"
    return results
