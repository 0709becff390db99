//! Redirect URIs for the hosted connect flow.

use leptos::prelude::*;

use super::sections::Planned;

#[component]
pub fn RedirectsPage() -> impl IntoView {
    view! { <Planned title="Redirect URIs" intro="Where the hosted connect flow may send your users back to." points=&[
        "Add https patterns such as https://*.example.com/callback.",
        "Setup URLs created through the API only redirect to a matching pattern.",
    ]/> }
}
