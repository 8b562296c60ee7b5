"""The paper broker: pure order matching, the order state machine and the charges table."""
