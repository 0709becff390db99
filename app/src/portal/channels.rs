//! Channels: list, connect, settings.

use leptos::prelude::*;

use super::sections::Planned;

#[component]
pub fn ChannelsPage() -> impl IntoView {
    view! { <Planned title="Channels" intro="A channel is one WhatsApp number, Instagram account or Facebook Page connected to this account." points=&[
        "Connect Channel: pick WhatsApp, Instagram or Facebook and grant access in Meta's dialog.",
        "See each channel's status, subscription, quality rating and last event.",
        "Set the webhook URL and events per channel, and generate a signing secret.",
        "Disconnect a channel without losing its history; reconnecting restores it.",
    ]/> }
}
