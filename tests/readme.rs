//! README.md documents the event-type -> status table; this keeps it true.

use stripe_bridge::normalize::mapped_event_types;

#[test]
fn readme_status_table_matches_the_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("<!-- status-table:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- status-table:end -->").next())
        .expect("README has the status table markers");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| `")).collect();
    let mapped = mapped_event_types();
    assert_eq!(
        rows.len(),
        mapped.len(),
        "one README row per mapped event type"
    );
    for (event_type, status) in mapped {
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("| `{event_type}` |")))
            .unwrap_or_else(|| panic!("README lacks a row for {event_type}"));
        match status {
            Some(status) => assert!(
                row.contains(&format!("`{}`", status.as_str())),
                "README row for {event_type} should say `{status}`: {row}"
            ),
            None => assert!(
                row.contains("from the"),
                "{event_type} reads the object: {row}"
            ),
        }
    }
}
