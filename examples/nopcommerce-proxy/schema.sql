-- The part of nopCommerce's schema (4.6x-4.9x, PostgreSQL) the proxy touches, as nopCommerce
-- creates it: quoted PascalCase names, citext strings, decimal(18,4) amounts, UTC timestamps
-- without time zone. Columns of "Order" that payments never read or write are left out.
-- Everything below is idempotent: run it again after upgrading the proxy (it adds what is new).
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE IF NOT EXISTS "Order" (
  "Id" serial CONSTRAINT "PK_Order" PRIMARY KEY,
  "OrderGuid" uuid NOT NULL,
  "StoreId" integer NOT NULL,
  "CustomerId" integer NOT NULL,
  "OrderStatusId" integer NOT NULL,
  "ShippingStatusId" integer NOT NULL,
  "PaymentStatusId" integer NOT NULL,
  "PaymentMethodSystemName" citext NULL,
  "CustomerCurrencyCode" citext NULL,
  "CurrencyRate" decimal(18,4) NOT NULL,
  "OrderTotal" decimal(18,4) NOT NULL,
  "RefundedAmount" decimal(18,4) NOT NULL,
  "AuthorizationTransactionId" citext NULL,
  "AuthorizationTransactionCode" citext NULL,
  "AuthorizationTransactionResult" citext NULL,
  "CaptureTransactionId" citext NULL,
  "CaptureTransactionResult" citext NULL,
  "PaidDateUtc" timestamp NULL,
  "Deleted" boolean NOT NULL,
  "CreatedOnUtc" timestamp NOT NULL,
  "CustomOrderNumber" citext NOT NULL
);

CREATE TABLE IF NOT EXISTS "OrderNote" (
  "Id" serial CONSTRAINT "PK_OrderNote" PRIMARY KEY,
  "Note" citext NOT NULL,
  "OrderId" integer NOT NULL CONSTRAINT "FK_OrderNote_OrderId_Order_Id" REFERENCES "Order" ("Id") ON DELETE CASCADE,
  "DownloadId" integer NOT NULL,
  "DisplayToCustomer" boolean NOT NULL,
  "CreatedOnUtc" timestamp NOT NULL
);
CREATE INDEX IF NOT EXISTS "IX_OrderNote_OrderId" ON "OrderNote" ("OrderId");

-- The proxy's own objects (not nopCommerce's) start here.

-- Each order's Stripe state (the public v2 OrderState JSON), which makes applying an update
-- idempotent and independent of delivery order. "Sequence": the sequence of the last state
-- forward applied (null while only records were applied); a forward whose sequence is not
-- higher is stale and ignored.
CREATE TABLE IF NOT EXISTS "StripeBridgeOrderState" (
  "OrderId" integer CONSTRAINT "PK_StripeBridgeOrderState" PRIMARY KEY
    CONSTRAINT "FK_StripeBridgeOrderState_OrderId_Order_Id" REFERENCES "Order" ("Id") ON DELETE CASCADE,
  "State" jsonb NOT NULL,
  "Sequence" bigint NULL,
  "UpdatedOnUtc" timestamp NOT NULL
);
-- (Tables created by an earlier version of the proxy.)
ALTER TABLE "StripeBridgeOrderState" ADD COLUMN IF NOT EXISTS "Sequence" bigint NULL;

-- The Stripe ids of the payments a stored state knows (PaymentIntents, charges, Checkout
-- Sessions, invoices), in both stored forms: version 2 (`objects` and their `links`,
-- `attempts`, the charges and PaymentIntents its `refunds` and `disputes` name, `paid_charge`)
-- and version 1 (`payment_intents`, `charges`, `checkout_sessions`, `invoices`). Empty strings
-- are never ids, and JSON of any other shape gives none (never an error that fails a write). A
-- record without an order reference (a refund, a dispute) finds its order by
-- `"StripeBridgePaymentIds"("State") && ids`, through the GIN index below: no extra table to
-- keep in step, and states written by anyone (earlier versions, a migration) are indexed.
-- Index expressions need an IMMUTABLE function; if you ever change its body,
-- REINDEX INDEX "IX_StripeBridgeOrderState_PaymentIds".
CREATE OR REPLACE FUNCTION "StripeBridgePaymentIds"(state jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT id ORDER BY id), '{}')
  FROM (
    SELECT v #>> '{}' AS id
    FROM unnest(ARRAY[
      '$.objects.keyvalue().key', '$.objects.*.links[*]', '$.attempts[*].id', '$.attempts[*].objects[*]',
      '$.refunds.*.charge', '$.refunds.*.payment_intent', '$.disputes.*.charge', '$.disputes.*.payment_intent', '$.paid_charge',
      '$.payment_intents[*]', '$.charges[*]', '$.checkout_sessions[*]', '$.invoices[*]'
    ]::jsonpath[]) AS p(path),
    LATERAL jsonb_path_query(state, p.path, '{}', true) AS v
    WHERE jsonb_typeof(v) = 'string'
  ) ids
  WHERE id <> ''
$$;
CREATE INDEX IF NOT EXISTS "IX_StripeBridgeOrderState_PaymentIds"
  ON "StripeBridgeOrderState" USING gin ("StripeBridgePaymentIds"("State"));

-- Payout mappings (the Worker's TARGET_PROFILE=nopcommerce): a mapping over the Worker's inline
-- limit (96,000 bytes) arrives as chunks of its JSON text, in any order and more than once. Each
-- is kept here until chunks 1..n announcing the same count n are all in; the set is then applied
-- in the same transaction. Kept afterwards too: a chunk delivered again finds its set complete and
-- adds nothing. A chunk received again replaces the stored copy (the newest wins, so a later
-- reconciliation of the payout replaces the earlier one's chunks); chunks of another count are
-- deleted when a set is applied. Nothing reads old rows: delete them when you like, e.g.
--   DELETE FROM "StripeBridgePayoutChunk" WHERE "ReceivedOnUtc" < now() - interval '90 days';
CREATE TABLE IF NOT EXISTS "StripeBridgePayoutChunk" (
  "PayoutId" text NOT NULL,
  "Chunk" integer NOT NULL,
  "Chunks" integer NOT NULL,
  "Text" text NOT NULL,
  "ReceivedOnUtc" timestamp NOT NULL,
  CONSTRAINT "PK_StripeBridgePayoutChunk" PRIMARY KEY ("PayoutId", "Chunk"),
  CONSTRAINT "CK_StripeBridgePayoutChunk_Chunk" CHECK ("Chunk" BETWEEN 1 AND "Chunks")
);

-- The payout notes written: one row per payout and order, claimed in the transaction that
-- inserts the "OrderNote", so redeliveries and reconciling a payout again never add a second note
-- (deleting the note in nopCommerce does not bring it back: "OrderNoteId" becomes null).
CREATE TABLE IF NOT EXISTS "StripeBridgePayoutNote" (
  "PayoutId" text NOT NULL,
  "OrderId" integer NOT NULL
    CONSTRAINT "FK_StripeBridgePayoutNote_OrderId_Order_Id" REFERENCES "Order" ("Id") ON DELETE CASCADE,
  "OrderNoteId" integer NULL
    CONSTRAINT "FK_StripeBridgePayoutNote_OrderNoteId_OrderNote_Id" REFERENCES "OrderNote" ("Id") ON DELETE SET NULL,
  "CreatedOnUtc" timestamp NOT NULL,
  CONSTRAINT "PK_StripeBridgePayoutNote" PRIMARY KEY ("PayoutId", "OrderId")
);
-- (For the foreign keys: deleting an order or a note finds its rows here by index.)
CREATE INDEX IF NOT EXISTS "IX_StripeBridgePayoutNote_OrderId" ON "StripeBridgePayoutNote" ("OrderId");
CREATE INDEX IF NOT EXISTS "IX_StripeBridgePayoutNote_OrderNoteId" ON "StripeBridgePayoutNote" ("OrderNoteId");
