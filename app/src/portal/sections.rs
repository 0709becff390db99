//! Sections of the Portal whose features are not switched on in this build yet.
//! Each says plainly what it will do, so nobody lands on a broken page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::layout::{me_of, use_me};
use super::ui::*;

#[component]
pub fn Planned(
    title: &'static str,
    intro: &'static str,
    points: &'static [&'static str],
) -> impl IntoView {
    view! {
        <Title text=title/>
        <PageHeader title=title description=intro/>
        <Card>
            <div class="mb-3"><Badge tone=Tone::Info text="Not available yet in this installation"/></div>
            <p class="mb-2 text-sm font-medium text-slate-800">"What this section will do:"</p>
            <ul class="list-disc space-y-1 pl-5 text-sm text-slate-700">
                {points.iter().map(|p| view! { <li>{*p}</li> }).collect_view()}
            </ul>
        </Card>
    }
}

#[component]
pub fn SandboxPage() -> impl IntoView {
    let me = use_me();
    view! {
        <Title text="Sandbox"/>
        <PageHeader title="Sandbox" description="A built-in stand-in for Meta, so everything works offline, in tests and in demos."/>
        <div class="space-y-4">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me_of(me).await.filter(|m| !m.sandbox).map(|_| view! {
                        <Alert tone=Tone::Warning>"This installation runs in live mode: the sandbox is switched off."</Alert>
                    })
                })}
            </Suspense>
            <Alert tone=Tone::Info>
                <span id="sandbox-single-tenant">"Sandbox mode is single-tenant: everyone who can reach this installation can play Meta and every end user for all sandbox assets, reset the sandbox and read its threads. Keep it on your own machine or a private test box. Called with your API key, the control API's read endpoints show only your channels' traffic."</span>
            </Alert>
            <Card title="Play the end user">
                <p class="mb-3 text-sm text-slate-700">"The phone writes to your sandbox WhatsApp numbers, Pages and Instagram account as a customer would, and shows the replies your code sends, with their delivery status."</p>
                <a id="open-phone" href="/sandbox/phone" rel="external" class=button_class(Variant::Primary)>"Open the sandbox phone"</a>
            </Card>
            <Card title="What the sandbox gives you">
                <ul class="list-disc space-y-1 pl-5 text-sm text-slate-700">
                    <li>"A seeded business, “Sandbox Business”: one WhatsApp Business Account with the numbers +1 555 0100 001 and +1 555 0100 002, two Facebook Pages and an Instagram account linked to the first Page."</li>
                    <li>"Meta's Graph API at "<code class="rounded bg-slate-100 px-1">"/sandbox/graph"</code>" and its consent dialog, with Meta's JSON shapes, error codes and signed webhooks."</li>
                    <li>"A control API under "<code class="rounded bg-slate-100 px-1">"/sandbox/api"</code>" for tests: inbound messages of every type, statuses, the outbox, faults (failing or slow Graph calls, duplicated, reordered or dropped webhooks), token revocation, reset."</li>
                    <li><a href="/mailbox" class="font-medium text-brand-600 hover:underline">"Mailbox"</a>": the mail this installation sent to you (confirmation, password resets, invitations); each person sees only their own."</li>
                    <li>"API keys start with "<code class="rounded bg-slate-100 px-1">"sb_test_"</code>" so they are never mistaken for live keys."</li>
                </ul>
            </Card>
        </div>
    }
}
