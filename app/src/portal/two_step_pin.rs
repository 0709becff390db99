//! The two-step verification PIN Switchboard chose when it registered a
//! WhatsApp number at connect (SPEC §13), on the channel's page, once: the
//! first view of the page after the connect takes it; later views show
//! nothing (the API's `exchange-code` answer may have shown it already).

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;

use super::ui::*;

#[server(prefix = "/rpc", endpoint = "take_two_step_pin")]
pub async fn take_two_step_pin(id: String) -> Result<Option<String>, ServerFnError> {
    let me = crate::web::session::require().await?;
    crate::services::registration::take_pin(&crate::web::session::state()?, &me.account_id, &id)
        .await
        .rpc()
}

/// Shows the PIN if this is the first time it is asked for; nothing otherwise.
#[component]
pub fn TwoStepPinNotice(channel_id: Memo<String>) -> impl IntoView {
    // Keyed on the channel only, not on the page's own actions (saving the
    // webhook reloads the channel), so it stays visible while the page is open.
    let pin = Resource::new(move || channel_id.get(), take_two_step_pin);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                pin.await.ok().flatten().map(|pin| view! {
                    <div id="two-step-pin">
                        <Alert tone=Tone::Warning>
                            <p class="font-medium">"Two-step verification PIN — keep it"</p>
                            <p class="mt-1">
                                "Switchboard registered this number on WhatsApp Cloud API with the PIN "
                                <code id="two-step-pin-value" class="rounded bg-white px-1.5 py-0.5 font-mono text-base font-semibold tracking-widest">{pin}</code>
                                ". It is shown only this once. You need it to register the number again or to move it to another provider; you can change it in WhatsApp Manager."
                            </p>
                        </Alert>
                    </div>
                })
            })}
        </Suspense>
    }
}
