-- Configuration: strategies (the strategies.yaml entries) and instruments, with a
-- NOTIFY on every change so running actors can apply it live.

CREATE TABLE strategies (
    id          text PRIMARY KEY CHECK (id <> ''),
    type        text NOT NULL CHECK (type <> ''),
    instruments jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(instruments) = 'array'),
    brokers     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(brokers) = 'array'),
    enabled     boolean NOT NULL DEFAULT true,
    params      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE instruments (
    instrument_token bigint PRIMARY KEY CHECK (instrument_token > 0),
    exchange_token   bigint,
    tradingsymbol    text NOT NULL,
    name             text NOT NULL DEFAULT '',
    exchange         text NOT NULL,
    segment          text NOT NULL DEFAULT '',
    instrument_type  text NOT NULL DEFAULT 'EQ',
    tick_size        numeric NOT NULL CHECK (tick_size > 0),
    lot_size         integer NOT NULL DEFAULT 1 CHECK (lot_size > 0),
    expiry           date,
    strike           numeric,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX instruments_by_symbol ON instruments (exchange, tradingsymbol);

-- Payload: {"table": ..., "op": ..., "key": <strategy id> | null}. Strategies notify per row
-- with the id. Instruments notify per statement (a dump upserts thousands of rows) with op
-- 'CHANGE', "reload the table": an upsert fires both the INSERT and the UPDATE statement
-- triggers, and PostgreSQL folds identical payloads of one transaction into one notice,
-- delivered on commit.
CREATE FUNCTION config_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    key text;
    op text := 'CHANGE';
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        op := TG_OP;
        IF TG_OP = 'DELETE' THEN
            key := OLD.id;
        ELSE
            key := NEW.id;
        END IF;
    END IF;
    PERFORM pg_notify('alpha_panda_config',
                      json_build_object('table', TG_TABLE_NAME, 'op', op, 'key', key)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER strategies_notify AFTER INSERT OR UPDATE OR DELETE ON strategies
    FOR EACH ROW EXECUTE FUNCTION config_notify();
CREATE TRIGGER instruments_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON instruments
    FOR EACH STATEMENT EXECUTE FUNCTION config_notify();
