//! `refund`, `capture`, `cancel`, `customer` and `sync-order`: the shop's requests to Stripe
//! after the payment ([`stripe_bridge::actions`]). The input JSON is read from standard input;
//! the built request is printed, or with `--send` sent and Stripe's object printed.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::de::DeserializeOwned;
use stripe_bridge::actions::{
    self, CancelInput, CaptureInput, OrderUpdate, RefundInput, ShopCustomer,
};
use stripe_bridge::payment_request::StripeRequest;
use stripe_bridge::{Error, OrderState};

use crate::client::{self, ApiArgs, Client};
use crate::{io_failure, print, read_stdin, to_json, Failure};

/// How to print and whether to send: every shop command takes these.
#[derive(Args)]
pub struct Output {
    /// Send the request (needs STRIPE_SECRET_KEY); retries 429, 5xx and network errors with
    /// backoff and the same Idempotency-Key.
    #[arg(long)]
    send: bool,
    /// For --send.
    #[command(flatten)]
    api: ApiArgs,
    /// Pretty-print the JSON.
    #[arg(long)]
    pretty: bool,
}

/// Refund an order's payments: a RefundInput JSON on stdin, checked against the order's state.
#[derive(Args)]
pub struct RefundArgs {
    /// The order's state (JSON, as `merge` or the Worker's GET /orders prints it).
    #[arg(long)]
    state: PathBuf,
    #[command(flatten)]
    output: Output,
}

/// Capture or cancel an authorization: a CaptureInput or CancelInput JSON on stdin.
#[derive(Args)]
pub struct AuthorizationArgs {
    /// The order's state: when given, the PaymentIntent is checked against it.
    #[arg(long)]
    state: Option<PathBuf>,
    #[command(flatten)]
    output: Output,
}

/// Create or update the shop's customer in Stripe: a ShopCustomer JSON on stdin. Without
/// --send the create request is printed (the update request with --stripe-customer); with
/// --send the customer is searched by metadata['customer_id'] first, then updated or created.
#[derive(Args)]
pub struct CustomerArgs {
    /// The Stripe customer to update (cus_...), instead of searching for it.
    #[arg(long)]
    stripe_customer: Option<String>,
    #[command(flatten)]
    output: Output,
}

/// Put the shop's order number and status on the PaymentIntent: an OrderUpdate JSON on stdin.
#[derive(Args)]
pub struct SyncOrderArgs {
    #[command(flatten)]
    output: Output,
}

/// The input JSON on standard input.
fn input<T: DeserializeOwned>(what: &str) -> Result<T, Failure> {
    let body = read_stdin()?;
    serde_json::from_slice(&body).map_err(|e| Failure {
        kind: "payment_request",
        code: "invalid_input",
        message: format!("the {what} JSON: {e}"),
    })
}

fn read_state(path: &Path) -> Result<OrderState, Failure> {
    let text =
        std::fs::read(path).map_err(|e| io_failure(&format!("reading {}", path.display()), e))?;
    serde_json::from_slice(&text).map_err(|e| Failure {
        kind: "state",
        code: "invalid_state",
        message: format!("{}: {e}", path.display()),
    })
}

/// Prints the request, or sends it and prints Stripe's object.
fn finish(request: &StripeRequest, output: &Output) -> Result<(), Failure> {
    if !output.send {
        return print(&to_json(request, output.pretty)?);
    }
    let object = client::json(&output.api.client()?.post(request)?)?;
    print(&to_json(&object, output.pretty)?)
}

/// `refund`: the requests (one per payment) as a JSON array; with --send, Stripe's refunds as
/// a JSON array (those made before a failure are printed before it is reported).
pub fn refund(args: RefundArgs) -> Result<(), Failure> {
    let refund: RefundInput = input("refund")?;
    let state = read_state(&args.state)?;
    let requests = actions::refunds(&refund, &state).map_err(Error::from)?;
    let output = &args.output;
    if !output.send {
        return print(&to_json(&requests, output.pretty)?);
    }
    let client = output.api.client()?;
    let mut made = Vec::new();
    for request in &requests {
        match client.post(request).and_then(|body| client::json(&body)) {
            Ok(object) => made.push(object),
            Err(failure) => {
                if !made.is_empty() {
                    print(&to_json(&made, output.pretty)?)?;
                }
                return Err(failure);
            }
        }
    }
    print(&to_json(&made, output.pretty)?)
}

/// `capture`.
pub fn capture(args: AuthorizationArgs) -> Result<(), Failure> {
    let capture: CaptureInput = input("capture")?;
    let state = args.state.as_deref().map(read_state).transpose()?;
    let request = actions::capture(&capture, state.as_ref()).map_err(Error::from)?;
    finish(&request, &args.output)
}

/// `cancel`.
pub fn cancel(args: AuthorizationArgs) -> Result<(), Failure> {
    let cancel: CancelInput = input("cancel")?;
    let state = args.state.as_deref().map(read_state).transpose()?;
    let request = actions::cancel(&cancel, state.as_ref()).map_err(Error::from)?;
    finish(&request, &args.output)
}

/// `customer`: with --send and no --stripe-customer, search, then update or create.
pub fn customer(args: CustomerArgs) -> Result<(), Failure> {
    let customer: ShopCustomer = input("customer")?;
    let output = &args.output;
    if !output.send || args.stripe_customer.is_some() {
        let request = match &args.stripe_customer {
            Some(id) => actions::update_customer(id, &customer),
            None => actions::create_customer(&customer),
        }
        .map_err(Error::from)?;
        return finish(&request, output);
    }
    let client = output.api.client()?;
    let request = match search(&client, &customer.customer_id)? {
        Some(id) => {
            eprintln!("note: customer {}: updating {id}", customer.customer_id);
            actions::update_customer(&id, &customer)
        }
        None => {
            eprintln!("note: customer {}: creating", customer.customer_id);
            actions::create_customer(&customer)
        }
    }
    .map_err(Error::from)?;
    let object = client::json(&client.post(&request)?)?;
    print(&to_json(&object, output.pretty)?)
}

/// The Stripe customer carrying the shop's id, if any.
fn search(client: &Client, customer_id: &str) -> Result<Option<String>, Failure> {
    let path = actions::customer_search_path(customer_id).map_err(Error::from)?;
    Ok(actions::found_customer(&client.get(&path)?)?)
}

/// `sync-order`.
pub fn sync_order(args: SyncOrderArgs) -> Result<(), Failure> {
    let update: OrderUpdate = input("order update")?;
    let request = actions::order_update(&update).map_err(Error::from)?;
    finish(&request, &args.output)
}
