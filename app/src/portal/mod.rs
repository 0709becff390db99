//! The Portal: server-rendered Leptos pages, hydrated in the browser.

pub mod auth;
pub mod billing;
pub mod channels;
pub mod dashboard;
pub mod deliveries;
pub mod keys;
pub mod layout;
pub mod mailbox;
pub mod onboarding;
pub mod redirects;
pub mod register;
pub mod sections;
pub mod send_test;
pub mod team;
pub mod templates;
pub mod two_step_pin;
pub mod ui;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/portal.css"/>
        <Title formatter=|t: String| if t.is_empty() { "Switchboard".to_string() } else { format!("{t} · Switchboard") }/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=auth::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/signup") view=auth::SignupPage ssr=SsrMode::Async/>
                <Route path=path!("/forgot-password") view=auth::ForgotPage ssr=SsrMode::Async/>
                <Route path=path!("/reset-password") view=auth::ResetPage ssr=SsrMode::Async/>
                <Route path=path!("/verify-email") view=auth::VerifyPage ssr=SsrMode::Async/>
                <Route path=path!("/invite") view=auth::InvitePage ssr=SsrMode::Async/>
                <Route path=path!("/mailbox") view=mailbox::MailboxPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=layout::PortalLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=dashboard::DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("channels") view=channels::ChannelsPage ssr=SsrMode::Async/>
                    <Route path=path!("channels/connected") view=channels::ConnectedPage ssr=SsrMode::Async/>
                    <Route path=path!("channels/:id") view=channels::ChannelPage ssr=SsrMode::Async/>
                    <Route path=path!("channels/:id/templates") view=templates::TemplatesPage ssr=SsrMode::Async/>
                    <Route path=path!("deliveries") view=deliveries::DeliveriesPage ssr=SsrMode::Async/>
                    <Route path=path!("deliveries/:id") view=deliveries::DeliveryPage ssr=SsrMode::Async/>
                    <Route path=path!("keys") view=keys::KeysPage ssr=SsrMode::Async/>
                    <Route path=path!("redirects") view=redirects::RedirectsPage ssr=SsrMode::Async/>
                    <Route path=path!("onboarding") view=onboarding::OnboardingPage ssr=SsrMode::Async/>
                    <Route path=path!("billing") view=billing::BillingPage ssr=SsrMode::Async/>
                    <Route path=path!("team") view=team::TeamPage ssr=SsrMode::Async/>
                    <Route path=path!("sandbox") view=sections::SandboxPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <main class="mx-auto flex min-h-screen max-w-md flex-col items-center justify-center gap-3 p-6 text-center">
            <p class="text-sm font-semibold text-brand-600">"404"</p>
            <h1 class="text-2xl font-semibold">"This page does not exist"</h1>
            <p class="text-sm text-slate-600">"The link may be old, or the address mistyped."</p>
            <a href="/" class="text-sm font-medium text-brand-600 hover:underline">"Go to the dashboard"</a>
        </main>
    }
}
