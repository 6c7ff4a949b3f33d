-- The part of nopCommerce's schema (4.6x-4.9x, PostgreSQL) the proxy touches, as nopCommerce
-- creates it: quoted PascalCase names, citext strings, decimal(18,4) amounts, UTC timestamps
-- without time zone. Columns of "Order" that payments never read or write are left out; on a
-- nopCommerce database its own tables exist already and are left as they are.
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

-- An order's lines (all of nopCommerce's columns): a return request names one, and its
-- refund is UnitPriceInclTax (primary store currency) x the quantity returned.
CREATE TABLE IF NOT EXISTS "OrderItem" (
  "Id" serial CONSTRAINT "PK_OrderItem" PRIMARY KEY,
  "OrderItemGuid" uuid NOT NULL,
  "OrderId" integer NOT NULL CONSTRAINT "FK_OrderItem_OrderId_Order_Id" REFERENCES "Order" ("Id") ON DELETE CASCADE,
  "ProductId" integer NOT NULL,
  "Quantity" integer NOT NULL,
  "UnitPriceInclTax" decimal(18,4) NOT NULL,
  "UnitPriceExclTax" decimal(18,4) NOT NULL,
  "PriceInclTax" decimal(18,4) NOT NULL,
  "PriceExclTax" decimal(18,4) NOT NULL,
  "DiscountAmountInclTax" decimal(18,4) NOT NULL,
  "DiscountAmountExclTax" decimal(18,4) NOT NULL,
  "OriginalProductCost" decimal(18,4) NOT NULL,
  "AttributeDescription" citext NULL,
  "AttributesXml" citext NULL,
  "DownloadCount" integer NOT NULL,
  "IsDownloadActivated" boolean NOT NULL,
  "LicenseDownloadId" integer NULL,
  "ItemWeight" decimal(18,4) NULL,
  "RentalStartDateUtc" timestamp NULL,
  "RentalEndDateUtc" timestamp NULL
);

-- Return requests (all of nopCommerce's columns; "CustomerId" references "Customer", left out
-- here). "ReturnRequestStatusId": Pending 0, Received 10, ReturnAuthorized 20, ItemsRepaired 30,
-- ItemsRefunded 40, RequestRejected 50, Cancelled 60. nopCommerce itself never pays anything
-- back for a return: the proxy asks the Worker for the refund (see "StripeBridgeReturnRefund").
CREATE TABLE IF NOT EXISTS "ReturnRequest" (
  "Id" serial CONSTRAINT "PK_ReturnRequest" PRIMARY KEY,
  "CustomNumber" citext NULL,
  "StoreId" integer NOT NULL,
  "OrderItemId" integer NOT NULL,
  "CustomerId" integer NOT NULL,
  "Quantity" integer NOT NULL,
  "ReturnedQuantity" integer NOT NULL,
  "ReasonForReturn" citext NOT NULL,
  "RequestedAction" citext NOT NULL,
  "CustomerComments" citext NULL,
  "UploadedFileId" integer NOT NULL,
  "StaffNotes" citext NULL,
  "ReturnRequestStatusId" integer NOT NULL,
  "CreatedOnUtc" timestamp NOT NULL,
  "UpdatedOnUtc" timestamp NOT NULL
);

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

-- Shop -> Stripe actions (the Worker's POST /refunds and POST /payments/{pi}/cancel, bearer
-- SHOP_API_TOKEN), each asked for once. A row is written (status `requested`) before the first
-- request and keeps the request body, so every retry sends the same bytes (the Worker's
-- idempotency key then makes Stripe act once). Status: `requested` (not sent yet, or sent and the
-- proxy stopped before recording the answer: sent again), `created` (the Worker did it:
-- "RefundIds", "Response"), `refused` (the Worker or the proxy refused it: 400/422, unknown order;
-- never retried; "LastError"), `failed` (5xx, network, timeout, 401/429...: retried at
-- "NextAttemptOnUtc" with a growing delay). A sender locks its row (FOR UPDATE SKIP LOCKED) while
-- it asks the Worker and records the answer, so two proxies never send the same one at once.
-- To give up on a row that keeps failing, set its "Status" to 'refused'; to ask again after a
-- refusal, delete it.

-- One refund per approved return request (return_id "rr_<Id>").
CREATE TABLE IF NOT EXISTS "StripeBridgeReturnRefund" (
  "ReturnRequestId" integer CONSTRAINT "PK_StripeBridgeReturnRefund" PRIMARY KEY,
  "OrderId" integer NOT NULL
    CONSTRAINT "FK_StripeBridgeReturnRefund_OrderId_Order_Id" REFERENCES "Order" ("Id") ON DELETE CASCADE,
  "Status" text NOT NULL
    CONSTRAINT "CK_StripeBridgeReturnRefund_Status" CHECK ("Status" IN ('requested', 'created', 'refused', 'failed')),
  "Request" jsonb NOT NULL,
  "RefundIds" text[] NOT NULL DEFAULT '{}',
  "Response" jsonb NULL,
  "LastError" text NULL,
  "Attempts" integer NOT NULL DEFAULT 0,
  "NextAttemptOnUtc" timestamp NULL,
  "LastAttemptOnUtc" timestamp NULL,
  "CreatedOnUtc" timestamp NOT NULL,
  "UpdatedOnUtc" timestamp NOT NULL
);
CREATE INDEX IF NOT EXISTS "IX_StripeBridgeReturnRefund_Due" ON "StripeBridgeReturnRefund" ("NextAttemptOnUtc")
  WHERE "Status" IN ('requested', 'failed');
CREATE INDEX IF NOT EXISTS "IX_StripeBridgeReturnRefund_OrderId" ON "StripeBridgeReturnRefund" ("OrderId");

-- One action per cancelled order that Stripe holds money for: `cancel` (an authorization: POST
-- /payments/{pi}/cancel, "Path") or `refund` (captured money: POST /refunds, all that remains,
-- return_id "cancel_<OrderId>").
CREATE TABLE IF NOT EXISTS "StripeBridgeOrderCancel" (
  "OrderId" integer CONSTRAINT "PK_StripeBridgeOrderCancel" PRIMARY KEY
    CONSTRAINT "FK_StripeBridgeOrderCancel_OrderId_Order_Id" REFERENCES "Order" ("Id") ON DELETE CASCADE,
  "Action" text NOT NULL CONSTRAINT "CK_StripeBridgeOrderCancel_Action" CHECK ("Action" IN ('cancel', 'refund')),
  "Path" text NOT NULL,
  "Status" text NOT NULL
    CONSTRAINT "CK_StripeBridgeOrderCancel_Status" CHECK ("Status" IN ('requested', 'created', 'refused', 'failed')),
  "Request" jsonb NOT NULL,
  "RefundIds" text[] NOT NULL DEFAULT '{}',
  "Response" jsonb NULL,
  "LastError" text NULL,
  "Attempts" integer NOT NULL DEFAULT 0,
  "NextAttemptOnUtc" timestamp NULL,
  "LastAttemptOnUtc" timestamp NULL,
  "CreatedOnUtc" timestamp NOT NULL,
  "UpdatedOnUtc" timestamp NOT NULL
);
CREATE INDEX IF NOT EXISTS "IX_StripeBridgeOrderCancel_Due" ON "StripeBridgeOrderCancel" ("NextAttemptOnUtc")
  WHERE "Status" IN ('requested', 'failed');
