//! Reading stored states: version 2 as written, version 1 (no `schema_version`) upgraded.
//!
//! Only the observations are read; everything derived is recomputed, so a stored state edited
//! by hand cannot carry a status its observations do not support.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{DisputeState, FlagState, MergeError, ObjectState, OrderState, RefundState};
use crate::normalize::Status;

/// A stored state of either version.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Stored {
    schema_version: Option<u32>,
    order_ref: Option<String>,
    order_refs: BTreeSet<String>,
    last_event_at: Option<i64>,
    last_event_id: Option<String>,
    objects: BTreeMap<String, ObjectState>,
    refunds: BTreeMap<String, StoredRefund>,
    disputes: BTreeMap<String, StoredDispute>,
    flags: BTreeMap<String, FlagState>,
    customers: BTreeSet<String>,
    payment_method_types: BTreeSet<String>,
    #[serde(flatten)]
    v1: V1,
}

/// The fields only version 1 has.
#[derive(Deserialize, Default)]
#[serde(default)]
struct V1 {
    currency: Option<String>,
    amount_minor: Option<i64>,
    amount_paid_minor: Option<i64>,
    customer_id: Option<String>,
    payment_method_type: Option<String>,
    payment_intents: BTreeSet<String>,
    charges: BTreeSet<String>,
    invoices: BTreeSet<String>,
    checkout_sessions: BTreeSet<String>,
    paid_at: Option<i64>,
    paid_charge: Option<String>,
    base: Option<V1Key>,
    charge_refunded: BTreeMap<String, (i64, i64)>,
    fee_minor: Option<i64>,
    net_minor: Option<i64>,
    settlement_currency: Option<String>,
}

#[derive(Deserialize)]
struct V1Key {
    status: Status,
    /// The event time, for the statuses where the latest wins (0 for the others).
    #[serde(default)]
    at: i64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoredRefund {
    V1 {
        stage: u8,
        at: i64,
        amount_minor: i64,
        #[serde(default)]
        charge: Option<String>,
    },
    V2(RefundState),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoredDispute {
    V1(Status),
    V2(DisputeState),
}

impl TryFrom<Stored> for OrderState {
    type Error = MergeError;

    fn try_from(stored: Stored) -> Result<OrderState, MergeError> {
        let version = stored.schema_version.unwrap_or(1);
        if version > super::SCHEMA_VERSION {
            return Err(MergeError::InvalidState {
                reason: "the state was written by a newer version (schema_version)",
            });
        }
        let mut state = OrderState {
            order_refs: stored.order_refs,
            last_event_at: stored.last_event_at,
            last_event_id: stored.last_event_id,
            objects: stored.objects,
            flags: stored.flags,
            customers: stored.customers,
            payment_method_types: stored.payment_method_types,
            ..OrderState::default()
        };
        state.order_refs.extend(stored.order_ref);
        for (id, refund) in stored.refunds {
            state
                .refunds
                .insert(id, refund.upgrade(&stored.v1.currency));
        }
        for (id, dispute) in stored.disputes {
            state.disputes.insert(id, dispute.upgrade(&stored.v1));
        }
        if version == 1 {
            stored.v1.upgrade(&mut state);
        }
        state.derive()?;
        Ok(state)
    }
}

impl StoredRefund {
    fn upgrade(self, currency: &Option<String>) -> RefundState {
        match self {
            StoredRefund::V2(refund) => refund,
            StoredRefund::V1 {
                stage,
                at,
                amount_minor,
                charge,
            } => RefundState {
                status: Some(match stage {
                    1 => Status::Pending,
                    2 => Status::Refunded,
                    _ => Status::Failed,
                }),
                at,
                amount_minor,
                currency: currency.clone(),
                charge,
                payment_intent: None,
            },
        }
    }
}

impl StoredDispute {
    fn upgrade(self, v1: &V1) -> DisputeState {
        match self {
            StoredDispute::V2(dispute) => dispute,
            // Version 1 kept only the status: the dispute's money is the payment's.
            StoredDispute::V1(status) => DisputeState {
                status: Some(status),
                amount_minor: v1.amount_paid_minor.unwrap_or(0),
                currency: v1.currency.clone(),
                charge: v1.paid_charge.clone(),
                ..DisputeState::default()
            },
        }
    }
}

impl V1 {
    /// Version 1 kept one status for the whole order: it becomes one attempt holding every id
    /// the order knew, with that status and the amounts it had.
    fn upgrade(self, state: &mut OrderState) {
        state.customers.extend(self.customer_id);
        state.payment_method_types.extend(self.payment_method_type);
        let ids: BTreeSet<String> = [
            &self.payment_intents,
            &self.checkout_sessions,
            &self.invoices,
            &self.charges,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        let (object, id) = match [
            ("payment_intent", &self.payment_intents),
            ("checkout.session", &self.checkout_sessions),
            ("invoice", &self.invoices),
            ("charge", &self.charges),
        ]
        .into_iter()
        .find_map(|(object, set)| Some((object, set.first()?)))
        {
            Some(found) => found,
            None => return,
        };
        let status = self.base.as_ref().map(|k| k.status);
        let paid = status == Some(Status::Paid);
        let at = match &self.base {
            Some(_) if paid => self.paid_at.unwrap_or(0),
            Some(key) => key.at,
            None => 0,
        };
        let attempt = ObjectState {
            object: object.to_owned(),
            status,
            at,
            currency: self.currency.clone(),
            amount_minor: self.amount_minor,
            captured_minor: self.amount_paid_minor.filter(|_| paid).unwrap_or(0),
            fee_minor: self.fee_minor,
            net_minor: self.net_minor,
            settlement_currency: self.settlement_currency,
            links: ids.iter().filter(|l| *l != id).cloned().collect(),
            ..ObjectState::default()
        };
        state.objects.insert(id.clone(), attempt);
        for (charge, (at, amount)) in self.charge_refunded {
            let slot = state.objects.entry(charge.clone()).or_default();
            if slot.object.is_empty() {
                slot.object = "charge".to_owned();
            }
            (slot.refunded_at, slot.refunded_minor) = (Some(at), Some(amount));
            slot.currency = self.currency.clone();
            if !ids.contains(&charge) {
                slot.links.insert(id.clone());
            }
        }
    }
}
