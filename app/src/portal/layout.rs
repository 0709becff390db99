//! The signed-in frame: navigation for every section, account switcher line, log-out.

use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

use super::auth::{Logo, Logout};
use super::ui::*;
use crate::domain::Me;

#[server(prefix = "/rpc", endpoint = "me")]
pub async fn get_me() -> Result<Option<Me>, ServerFnError> {
    crate::web::session::current().await
}

/// The signed-in person, provided to every page inside the layout.
pub fn use_me() -> Me {
    expect_context::<Me>()
}

struct NavItem {
    href: &'static str,
    label: &'static str,
    sandbox_only: bool,
}

const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: "Dashboard",
        sandbox_only: false,
    },
    NavItem {
        href: "/channels",
        label: "Channels",
        sandbox_only: false,
    },
    NavItem {
        href: "/deliveries",
        label: "Webhooks & deliveries",
        sandbox_only: false,
    },
    NavItem {
        href: "/keys",
        label: "API keys",
        sandbox_only: false,
    },
    NavItem {
        href: "/redirects",
        label: "Redirect URIs",
        sandbox_only: false,
    },
    NavItem {
        href: "/onboarding",
        label: "Onboarding links",
        sandbox_only: false,
    },
    NavItem {
        href: "/billing",
        label: "Billing",
        sandbox_only: false,
    },
    NavItem {
        href: "/team",
        label: "Team",
        sandbox_only: false,
    },
    NavItem {
        href: "/sandbox",
        label: "Sandbox",
        sandbox_only: true,
    },
    NavItem {
        href: "/mailbox",
        label: "Mailbox",
        sandbox_only: true,
    },
];

fn nav_links(sandbox: bool) -> impl IntoView {
    NAV.iter()
        .filter(|i| sandbox || !i.sandbox_only)
        .map(|i| {
            view! {
                <A href=i.href exact=true attr:class="block rounded-lg px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-brand-50 aria-[current=page]:text-brand-700">
                    {i.label}
                </A>
            }
        })
        .collect_view()
}

#[component]
pub fn PortalLayout() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    view! {
        <Suspense fallback=|| view! { <div class="p-8"><Loading/></div> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! { <Chrome me=me/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => view! { <div class="p-8"><Alert tone=Tone::Danger>{error_text(&e)}</Alert></div> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Chrome(me: Me) -> impl IntoView {
    provide_context(me.clone());
    let logout = ServerAction::<Logout>::new();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let sandbox = me.sandbox;
    view! {
        <div id="portal" data-hydrated=move || hydrated.get().to_string() class="min-h-screen md:flex">
            <aside class="hidden w-64 shrink-0 flex-col border-r border-slate-200 bg-white px-3 py-5 md:flex">
                <a href="/" class="mb-6 flex items-center gap-2 px-3 text-base font-semibold"><Logo/>"Switchboard"</a>
                <nav class="flex-1 space-y-0.5" aria-label="Main">{nav_links(sandbox)}</nav>
                <a href="/api/docs" class="px-3 py-2 text-sm text-slate-500 hover:text-slate-800">"API reference"</a>
            </aside>
            <div class="min-w-0 flex-1">
                <header class="flex items-center justify-between gap-3 border-b border-slate-200 bg-white px-4 py-3 md:px-8">
                    <div class="flex min-w-0 items-center gap-3">
                        <details class="relative md:hidden">
                            <summary class="cursor-pointer list-none rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium" aria-label="Menu">"Menu"</summary>
                            <nav class="absolute left-0 z-20 mt-2 w-64 space-y-0.5 rounded-xl border border-slate-200 bg-white p-2 shadow-lg" aria-label="Main">
                                {nav_links(sandbox)}
                                <a href="/api/docs" class="block px-3 py-2 text-sm text-slate-500">"API reference"</a>
                            </nav>
                        </details>
                        <div class="min-w-0">
                            <p id="account-name" class="truncate text-sm font-semibold text-slate-900">{me.account_name.clone()}</p>
                            <p class="truncate text-xs text-slate-500">{me.email.clone()}" · "{me.role.as_str()}</p>
                        </div>
                        {sandbox.then(|| view! { <Badge tone=Tone::Warning text="sandbox"/> })}
                    </div>
                    <ActionForm action=logout>
                        <button type="submit" id="logout" class=button_class(Variant::Secondary)>"Log out"</button>
                    </ActionForm>
                </header>
                <main class="mx-auto max-w-5xl px-4 py-6 md:px-8 md:py-8">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}
