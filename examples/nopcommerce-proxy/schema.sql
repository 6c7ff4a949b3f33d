-- The part of nopCommerce's schema (4.6x-4.9x, PostgreSQL) the proxy touches, as nopCommerce
-- creates it: quoted PascalCase names, citext strings, decimal(18,4) amounts, UTC timestamps
-- without time zone. Columns of "Order" that payments never read or write are left out.
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

-- The proxy's own table (not nopCommerce's): each order's merged Stripe state, which makes
-- applying an update idempotent and independent of delivery order.
CREATE TABLE IF NOT EXISTS "StripeBridgeOrderState" (
  "OrderId" integer CONSTRAINT "PK_StripeBridgeOrderState" PRIMARY KEY
    CONSTRAINT "FK_StripeBridgeOrderState_OrderId_Order_Id" REFERENCES "Order" ("Id") ON DELETE CASCADE,
  "State" jsonb NOT NULL,
  "UpdatedOnUtc" timestamp NOT NULL
);
