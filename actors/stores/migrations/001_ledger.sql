-- The order/fill ledger: append-only, deduplicated, no binary floats.

-- Money and prices: exact NUMERIC with NUMERIC(18,4)'s bounds, but a value with more than
-- four decimals is refused instead of silently rounded (a typmod would round it), and the
-- scale a value was written with comes back unchanged (2450.05 stays 2450.05).
CREATE DOMAIN ledger_amount AS numeric
    CHECK (VALUE IS NULL OR (scale(VALUE) IS NOT NULL AND scale(VALUE) <= 4
                             AND abs(VALUE) < 100000000000000));

CREATE TABLE orders (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    broker           text NOT NULL CHECK (broker <> ''),
    client_order_id  text NOT NULL CHECK (client_order_id <> ''),
    event_type       text NOT NULL,
    -- '' for the once-per-order events (submitted, accepted, failed, cancelled); the
    -- fill id for order.filled. With the unique key below, a redelivered event, or the
    -- same event re-emitted under a new envelope id, is a no-op.
    event_key        text NOT NULL DEFAULT '',
    event_id         text NOT NULL,
    status           text NOT NULL,
    signal_id        text,
    strategy_id      text,
    instrument_token bigint,
    symbol           text,
    side             text CHECK (side IN ('BUY', 'SELL')),
    quantity         integer CHECK (quantity >= 0),
    order_type       text,
    limit_price      ledger_amount,
    broker_order_id  text,
    filled_quantity  integer,
    reason           text,
    ts               bigint NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (broker, client_order_id, event_type, event_key)
);

CREATE TABLE fills (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    broker           text NOT NULL CHECK (broker <> ''),
    fill_id          text NOT NULL CHECK (fill_id <> ''),
    client_order_id  text NOT NULL,
    broker_order_id  text NOT NULL,
    strategy_id      text NOT NULL,
    instrument_token bigint NOT NULL,
    symbol           text,
    side             text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity         integer NOT NULL CHECK (quantity > 0),
    price            ledger_amount NOT NULL CHECK (price > 0),
    brokerage        ledger_amount NOT NULL DEFAULT 0,
    stt              ledger_amount NOT NULL DEFAULT 0,
    exchange_txn     ledger_amount NOT NULL DEFAULT 0,
    sebi             ledger_amount NOT NULL DEFAULT 0,
    stamp_duty       ledger_amount NOT NULL DEFAULT 0,
    gst              ledger_amount NOT NULL DEFAULT 0,
    event_id         text NOT NULL,
    ts               bigint NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (broker, fill_id)
);

CREATE INDEX fills_by_order ON fills (broker, client_order_id);

-- Statement-level, so even an UPDATE or DELETE that matches no row is refused.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'record a new event (a cancel, a correction) instead of changing history';
END
$$;

CREATE TRIGGER orders_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON orders
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER fills_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON fills
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
