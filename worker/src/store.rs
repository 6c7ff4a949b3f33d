//! Durable Object storage shared by the order books and the payout ledgers: values as JSON
//! text, atomic multi-key writes, and the outbox of forwards (written with the state that
//! produced them, handed to the forward queue, retried by an alarm when the queue refuses).

use serde::Serialize;
use serde_json::json;
use stripe_bridge::delivery::ForwardMessage;
use worker::{Env, Result, Storage};

use crate::{config, log};

/// Retry of the outbox when the queue refused a send.
const OUTBOX_RETRY_MS: u64 = 30_000;
/// Outbox entries (forwards not yet handed to the queue).
const OUTBOX_PREFIX: &str = "out:";

pub fn outbox_key(forward_id: &str) -> String {
    format!("{OUTBOX_PREFIX}{forward_id}")
}

/// Hands a forward to the queue and removes it from the outbox; when the queue refuses it, it
/// stays there and an alarm tries again.
pub async fn send(env: &Env, storage: &Storage, message: ForwardMessage) -> Result<()> {
    let key = outbox_key(&message.event_id);
    let sent = match env.queue(config::QUEUE_FORWARD) {
        Ok(queue) => queue.send(&message).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => storage.delete(&key).await.map(|_| ()),
        Err(e) => {
            log(
                json!({ "outbox": "queue_unavailable", "forward": message.event_id, "error": e.to_string() }),
            );
            storage
                .set_alarm(std::time::Duration::from_millis(OUTBOX_RETRY_MS))
                .await
        }
    }
}

/// Sends every forward still in the outbox (after a queue outage).
pub async fn flush_outbox(env: &Env, storage: &Storage) -> Result<()> {
    let options = worker::ListOptions::new().prefix(OUTBOX_PREFIX);
    let pending = storage.list_with_options(options).await?;
    for entry in pending.values() {
        let Ok(text) = entry.and_then(|v| v.as_string().ok_or(wasm_bindgen::JsValue::NULL)) else {
            continue;
        };
        if let Ok(message) = serde_json::from_str::<ForwardMessage>(&text) {
            send(env, storage, message).await?;
        }
    }
    Ok(())
}

/// Writes all entries in one storage call: atomic (all or none), durable before the answer.
pub async fn put_all(storage: &Storage, writes: Vec<(String, String)>) -> Result<()> {
    use worker::wasm_bindgen::JsValue;
    let object = worker::js_sys::Object::new();
    for (key, value) in &writes {
        worker::js_sys::Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value))?;
    }
    storage.put_multiple_raw(object).await
}

/// Values are stored as JSON text (exact decimals and ids as written).
pub fn encode<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))
}

pub async fn get_json<T: serde::de::DeserializeOwned>(
    storage: &Storage,
    key: &str,
) -> Result<Option<T>> {
    match storage.get::<String>(key).await? {
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| worker::Error::RustError(format!("{key}: {e}"))),
        None => Ok(None),
    }
}
