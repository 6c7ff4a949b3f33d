//! Reading stored states: version 2 as written, version 1 (no `schema_version`) upgraded.
//!
//! Only the observations are read; everything derived is recomputed, so a stored state edited
//! by hand cannot carry a status its observations do not support. One flat struct reads both
//! versions (no `flatten` or `untagged`: they would double the generated code in wasm).
//!
//! Fields added within version 2 are optional and default when missing: an object's `failure`
//! and `failed_at` (why its latest failed report failed) read as `None` from version 1 states
//! and from version 2 states written before them, so `schema_version` stays 2. A reader older
//! than a field ignores it (and loses it on its next write).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::{Linked, MergeError, ObjectState, OrderState};
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
    /// Version 1 refunds (`stage`) and disputes (a bare status) read into the same type.
    refunds: BTreeMap<String, Linked>,
    disputes: BTreeMap<String, Linked>,
    flags: BTreeMap<String, Linked>,
    customers: BTreeSet<String>,
    payment_method_types: BTreeSet<String>,
    // Version 1 only.
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

/// The fields of a stored refund, dispute or flag (version 1 refunds have `stage` instead of
/// `status`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkedFields {
    status: Option<Status>,
    stage: Option<u8>,
    at: i64,
    amount_minor: i64,
    currency: Option<String>,
    charge: Option<String>,
    payment_intent: Option<String>,
    reason: Option<String>,
}

impl<'de> Deserialize<'de> for Linked {
    /// An object, or (version 1 disputes) a bare status.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LinkedVisitor;
        impl<'de> Visitor<'de> for LinkedVisitor {
            type Value = Linked;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a refund, dispute or flag object, or a status")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Linked, E> {
                let status = Status::ALL.into_iter().find(|s| s.as_str() == v);
                status
                    .map(|status| Linked {
                        status: Some(status),
                        ..Linked::default()
                    })
                    .ok_or_else(|| E::custom("not a status"))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Linked, A::Error> {
                let f = LinkedFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let stage = f.stage.map(|stage| match stage {
                    1 => Status::Pending,
                    2 => Status::Refunded,
                    _ => Status::Failed,
                });
                Ok(Linked {
                    status: f.status.or(stage),
                    at: f.at,
                    amount_minor: f.amount_minor,
                    currency: f.currency,
                    charge: f.charge,
                    payment_intent: f.payment_intent,
                    reason: f.reason,
                })
            }
        }
        deserializer.deserialize_any(LinkedVisitor)
    }
}

impl TryFrom<Stored> for OrderState {
    type Error = MergeError;

    fn try_from(mut stored: Stored) -> Result<OrderState, MergeError> {
        let version = stored.schema_version.unwrap_or(1);
        if version > super::SCHEMA_VERSION {
            return Err(MergeError::InvalidState {
                reason: "the state was written by a newer version (schema_version)",
            });
        }
        if version == 1 {
            stored.upgrade_v1();
        }
        let mut state = OrderState {
            order_refs: stored.order_refs,
            last_event_at: stored.last_event_at,
            last_event_id: stored.last_event_id,
            objects: stored.objects,
            refunds: stored.refunds,
            disputes: stored.disputes,
            flags: stored.flags,
            customers: stored.customers,
            payment_method_types: stored.payment_method_types,
            ..OrderState::default()
        };
        state.order_refs.extend(stored.order_ref);
        state.derive()?;
        Ok(state)
    }
}

impl Stored {
    /// Version 1 kept one status for the whole order: its ids become one attempt with that
    /// status and the amounts it had; its refunds and disputes get the order's currency (and a
    /// dispute the payment's amount and charge, which version 1 did not keep).
    fn upgrade_v1(&mut self) {
        self.customers.extend(self.customer_id.take());
        self.payment_method_types
            .extend(self.payment_method_type.take());
        for refund in self.refunds.values_mut() {
            refund.currency = refund.currency.take().or_else(|| self.currency.clone());
        }
        for dispute in self.disputes.values_mut() {
            dispute.currency = dispute.currency.take().or_else(|| self.currency.clone());
            dispute.charge = dispute.charge.take().or_else(|| self.paid_charge.clone());
            if dispute.amount_minor == 0 {
                dispute.amount_minor = self.amount_paid_minor.unwrap_or(0);
            }
        }
        let mut ids = BTreeSet::new();
        for set in [
            &self.payment_intents,
            &self.checkout_sessions,
            &self.invoices,
            &self.charges,
        ] {
            ids.extend(set.iter().cloned());
        }
        let first = [
            ("payment_intent", &self.payment_intents),
            ("checkout.session", &self.checkout_sessions),
            ("invoice", &self.invoices),
            ("charge", &self.charges),
        ]
        .into_iter()
        .find_map(|(object, set)| Some((object, set.first()?.clone())));
        let Some((object, id)) = first else {
            return;
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
            settlement_currency: self.settlement_currency.take(),
            links: ids.iter().filter(|l| **l != id).cloned().collect(),
            ..ObjectState::default()
        };
        self.objects.insert(id.clone(), attempt);
        for (charge, (at, amount)) in std::mem::take(&mut self.charge_refunded) {
            let slot = self.objects.entry(charge.clone()).or_default();
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
