//! The shop's customer as a Stripe Customer, found by `metadata['customer_id']`: search
//! (`GET /v1/customers/search`), then update (`POST /v1/customers/{customer}`) or create
//! (`POST /v1/customers`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{check_optional, stripe_id};
use crate::payment_request::{
    check_email, check_text, checked_metadata, hashed_key, Form, RequestError, StripeRequest,
    METADATA_MAX_VALUE_LEN,
};
use crate::stripe_api::invalid_response;

/// Stripe's limits of a customer's fields (API description 2023-08-16).
pub const NAME_MAX_LEN: usize = 256;
pub const PHONE_MAX_LEN: usize = 20;
pub const CUSTOMER_DESCRIPTION_MAX_LEN: usize = 5000;
pub const ADDRESS_FIELD_MAX_LEN: usize = 5000;

/// A postal address; `country` is a two-letter ISO 3166-1 code (sent in upper case).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// The shop's customer (JSON field names are the public contract). Fields left out (or
/// `null`) are not sent: an update leaves them as they are in Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopCustomer {
    /// The shop's customer id (`metadata[customer_id]`, what the search looks for).
    pub customer_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub address: Option<Address>,
    /// More metadata for the customer.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// `GET` path of the search for the Stripe customers whose `metadata['customer_id']` is the
/// shop's `customer_id` (Stripe's search syntax: the value in single quotes, `\` and `'`
/// escaped with a backslash).
pub fn customer_search_path(customer_id: &str) -> Result<String, RequestError> {
    check_text("customer_id", customer_id, METADATA_MAX_VALUE_LEN)?;
    let escaped = customer_id.replace('\\', "\\\\").replace('\'', "\\'");
    let query = format!("metadata['customer_id']:'{escaped}'");
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", &query)
        .finish();
    Ok(format!("/v1/customers/search?{query}"))
}

#[derive(Deserialize)]
struct SearchResult {
    data: Vec<Found>,
}

#[derive(Deserialize)]
struct Found {
    id: String,
    #[serde(default)]
    created: i64,
}

/// The Stripe customer a search answer found (`cus_…`): the oldest (then the smallest id) when
/// several carry the shop's id; `None` when none does.
pub fn found_customer(search_body: &[u8]) -> Result<Option<String>, crate::Error> {
    let what = "a customer search result";
    let result: SearchResult =
        serde_json::from_slice(search_body).map_err(|e| invalid_response(what, e))?;
    let oldest = result
        .data
        .into_iter()
        .min_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let Some(found) = oldest else {
        return Ok(None);
    };
    stripe_id("id", &found.id, &["cus_"]).map_err(|e| invalid_response(what, e))?;
    Ok(Some(found.id))
}

/// `POST /v1/customers`. Key per (shop customer id, body): a retry never creates a second
/// customer; changed details make a new request.
pub fn create_customer(customer: &ShopCustomer) -> Result<StripeRequest, RequestError> {
    let body = body(customer)?;
    let key = hashed_key("customer", &["create", &customer.customer_id, &body]);
    Ok(request("/v1/customers".to_owned(), body, key))
}

/// `POST /v1/customers/{stripe_customer}` with the shop's details (`stripe_customer`: the
/// `cus_…` id [`found_customer`] gave). Key per (Stripe id, body).
pub fn update_customer(
    stripe_customer: &str,
    customer: &ShopCustomer,
) -> Result<StripeRequest, RequestError> {
    let id = stripe_id("stripe_customer", stripe_customer, &["cus_"])?;
    let body = body(customer)?;
    let key = hashed_key("customer", &["update", id, &body]);
    Ok(request(format!("/v1/customers/{id}"), body, key))
}

fn request(path: String, body: String, idempotency_key: String) -> StripeRequest {
    StripeRequest {
        method: "POST",
        path,
        body,
        idempotency_key,
        amount_minor: 0,
        currency: String::new(),
    }
}

/// `email`, `name`, `phone`, `description`, `address[...]`, `metadata[customer_id]` and the
/// customer's metadata, checked against Stripe's limits.
fn body(c: &ShopCustomer) -> Result<String, RequestError> {
    check_text("customer_id", &c.customer_id, METADATA_MAX_VALUE_LEN)?;
    if let Some(email) = &c.email {
        check_email("email", email)?;
    }
    check_optional("name", c.name.as_ref(), NAME_MAX_LEN)?;
    check_optional("phone", c.phone.as_ref(), PHONE_MAX_LEN)?;
    let description = c.description.as_ref();
    check_optional("description", description, CUSTOMER_DESCRIPTION_MAX_LEN)?;
    let ours = vec![("customer_id".to_owned(), c.customer_id.clone())];
    let metadata = checked_metadata(ours, &c.metadata, &["customer_id"])?;
    let mut form = Form::default();
    let fields = [
        ("email", &c.email),
        ("name", &c.name),
        ("phone", &c.phone),
        ("description", &c.description),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            form.add(key, value.clone());
        }
    }
    if let Some(address) = &c.address {
        add_address(&mut form, address)?;
    }
    form.metadata("metadata", &metadata);
    Ok(form.encode())
}

fn add_address(form: &mut Form, a: &Address) -> Result<(), RequestError> {
    let country = match &a.country {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(c.to_ascii_uppercase())
        }
        Some(_) => {
            return Err(RequestError::new(
                "address.country",
                "invalid_country",
                "must be a two-letter ISO 3166-1 country code such as DE",
            ))
        }
        None => None,
    };
    let fields = [
        ("line1", a.line1.clone()),
        ("line2", a.line2.clone()),
        ("city", a.city.clone()),
        ("state", a.state.clone()),
        ("postal_code", a.postal_code.clone()),
        ("country", country),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            check_text(&format!("address.{key}"), &value, ADDRESS_FIELD_MAX_LEN)?;
            form.add(format!("address[{key}]"), value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer() -> ShopCustomer {
        serde_json::from_value(serde_json::json!({
            "customer_id": "C-77",
            "email": "jenny.rosen@example.com",
            "name": "Jenny Rosen",
            "phone": "+49 30 1234567",
            "address": {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "de"},
            "metadata": {"tier": "gold"}
        }))
        .unwrap()
    }

    #[test]
    fn create_and_update_bodies() {
        let r = create_customer(&customer()).unwrap();
        assert_eq!((r.method, r.path.as_str()), ("POST", "/v1/customers"));
        assert_eq!(
            r.body,
            "email=jenny.rosen%40example.com&name=Jenny+Rosen&phone=%2B49+30+1234567\
             &address%5Bline1%5D=Hauptstr.+1&address%5Bcity%5D=Berlin\
             &address%5Bpostal_code%5D=10115&address%5Bcountry%5D=DE\
             &metadata%5Bcustomer_id%5D=C-77&metadata%5Btier%5D=gold"
        );
        assert!(r.idempotency_key.starts_with("sb-customer-"));
        assert_eq!(
            create_customer(&customer()).unwrap().idempotency_key,
            r.idempotency_key
        );
        let mut moved = customer();
        moved.address = None;
        let m = create_customer(&moved).unwrap();
        assert_ne!(m.idempotency_key, r.idempotency_key);
        assert_eq!(m.body, "email=jenny.rosen%40example.com&name=Jenny+Rosen&phone=%2B49+30+1234567&metadata%5Bcustomer_id%5D=C-77&metadata%5Btier%5D=gold");
        let u = update_customer("cus_RbasilJenny", &customer()).unwrap();
        assert_eq!(u.path, "/v1/customers/cus_RbasilJenny");
        assert_eq!(u.body, r.body);
        assert_ne!(u.idempotency_key, r.idempotency_key);
        assert_eq!(
            update_customer("../x", &customer()).unwrap_err().code,
            "invalid_id"
        );
        assert_eq!(
            update_customer("pi_1", &customer()).unwrap_err().code,
            "invalid_id"
        );
        let minimal = ShopCustomer {
            customer_id: "C-1".into(),
            email: None,
            name: None,
            phone: None,
            description: None,
            address: None,
            metadata: BTreeMap::new(),
        };
        assert_eq!(
            create_customer(&minimal).unwrap().body,
            "metadata%5Bcustomer_id%5D=C-1"
        );
    }

    #[test]
    fn refusals() {
        type Change = fn(&mut ShopCustomer);
        let cases: Vec<(Change, &str, &str)> = vec![
            (|c| c.email = Some("jenny".into()), "email", "invalid_email"),
            (|c| c.name = Some("x".repeat(257)), "name", "too_long"),
            (|c| c.phone = Some("1".repeat(21)), "phone", "too_long"),
            (|c| c.customer_id = " ".into(), "customer_id", "required"),
            (
                |c| c.customer_id = "x".repeat(501),
                "customer_id",
                "too_long",
            ),
            (
                |c| {
                    c.address = Some(Address {
                        country: Some("DEU".into()),
                        ..Address::default()
                    })
                },
                "address.country",
                "invalid_country",
            ),
            (
                |c| {
                    c.address = Some(Address {
                        line1: Some("a\nb".into()),
                        ..Address::default()
                    })
                },
                "address.line1",
                "invalid_characters",
            ),
            (
                |c| {
                    c.metadata.insert("customer_id".into(), "x".into());
                },
                "metadata.customer_id",
                "reserved_key",
            ),
            (
                |c| {
                    c.metadata.insert("k".into(), "v".repeat(501));
                },
                "metadata.k",
                "metadata_value_too_long",
            ),
        ];
        for (change, field, code) in cases {
            let mut c = customer();
            change(&mut c);
            let e = create_customer(&c).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), (field, code), "{e}");
        }
    }

    #[test]
    fn search_quotes_the_shop_id() {
        assert_eq!(
            customer_search_path("C-77").unwrap(),
            "/v1/customers/search?query=metadata%5B%27customer_id%27%5D%3A%27C-77%27"
        );
        let path = customer_search_path(r"O'Brien\ OR email:'x'").unwrap();
        let query: Vec<(String, String)> = form_urlencoded::parse(
            path.strip_prefix("/v1/customers/search?")
                .unwrap()
                .as_bytes(),
        )
        .into_owned()
        .collect();
        assert_eq!(
            query,
            [(
                "query".to_owned(),
                r"metadata['customer_id']:'O\'Brien\\ OR email:\'x\''".to_owned()
            )]
        );
        assert_eq!(customer_search_path("").unwrap_err().code, "required");
        assert_eq!(
            customer_search_path("a\u{0}").unwrap_err().code,
            "invalid_characters"
        );
    }

    #[test]
    fn the_oldest_match_is_found() {
        let body = br#"{"object":"search_result","data":[
            {"id":"cus_B","object":"customer","created":1700000200},
            {"id":"cus_A","object":"customer","created":1700000100},
            {"id":"cus_C","object":"customer","created":1700000100}],"has_more":false}"#;
        assert_eq!(found_customer(body).unwrap().as_deref(), Some("cus_A"));
        assert_eq!(
            found_customer(br#"{"object":"search_result","data":[]}"#).unwrap(),
            None
        );
        for bad in [
            &b"not json"[..],
            br#"{"data":[{"id":"../x","created":1}]}"#,
            br#"{"error":{}}"#,
        ] {
            let e = found_customer(bad).unwrap_err();
            assert_eq!((e.kind(), e.code()), ("stripe_api", "api_error"), "{e}");
        }
    }
}
