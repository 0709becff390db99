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

/// The signed-in person as a shared resource. Pages read it inside their own
/// `Suspense`; components are never created inside another resource's `Suspend`
/// (that would create their resources twice during server rendering).
pub type MeResource = Resource<Result<Option<Me>, ServerFnError>>;

pub fn use_me() -> MeResource {
    expect_context::<MeResource>()
}

/// Awaits the signed-in person; `None` while signed out (the layout redirects).
pub async fn me_of(r: MeResource) -> Option<Me> {
    r.await.ok().flatten()
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
                <A href=i.href exact=i.href == "/" attr:class="block rounded-lg px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-brand-50 aria-[current=page]:text-brand-700">
                    {i.label}
                </A>
            }
        })
        .collect_view()
}

#[component]
pub fn PortalLayout() -> impl IntoView {
    let me: MeResource = Resource::new(|| (), |_| get_me());
    provide_context(me);
    let logout = ServerAction::<Logout>::new();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let nav = move || {
        Suspend::new(async move {
            let sandbox = me_of(me).await.map(|m| m.sandbox).unwrap_or(false);
            nav_links(sandbox)
        })
    };
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(None) => Some(view! { <Redirect path="/login"/> }),
                    _ => None,
                }
            })}
        </Suspense>
        <div id="portal" data-hydrated=move || hydrated.get().to_string() class="min-h-screen md:flex">
            <aside class="hidden w-64 shrink-0 flex-col border-r border-slate-200 bg-white px-3 py-5 md:flex">
                <a href="/" class="mb-6 flex items-center gap-2 px-3 text-base font-semibold"><Logo/>"Switchboard"</a>
                <nav class="flex-1 space-y-0.5" aria-label="Main"><Suspense fallback=|| ()>{nav}</Suspense></nav>
                <a href="/api/docs" rel="external" class="px-3 py-2 text-sm text-slate-500 hover:text-slate-800">"API reference"</a>
            </aside>
            <div class="min-w-0 flex-1">
                <header class="flex items-center justify-between gap-3 border-b border-slate-200 bg-white px-4 py-3 md:px-8">
                    <div class="flex min-w-0 items-center gap-3">
                        <details class="relative md:hidden">
                            <summary class="cursor-pointer list-none rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium" aria-label="Menu">"Menu"</summary>
                            <nav class="absolute left-0 z-20 mt-2 w-64 space-y-0.5 rounded-xl border border-slate-200 bg-white p-2 shadow-lg" aria-label="Main menu">
                                <Suspense fallback=|| ()>{nav}</Suspense>
                                <a href="/api/docs" rel="external" class="block px-3 py-2 text-sm text-slate-500">"API reference"</a>
                            </nav>
                        </details>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                me_of(me).await.map(|me| view! {
                                    <div class="min-w-0">
                                        <p id="account-name" class="truncate text-sm font-semibold text-slate-900">{me.account_name.clone()}</p>
                                        <p class="truncate text-xs text-slate-500">{format!("{} · {}", me.email, me.role.as_str())}</p>
                                    </div>
                                    {me.sandbox.then(|| view! { <Badge tone=Tone::Warning text="sandbox"/> })}
                                })
                            })}
                        </Suspense>
                    </div>
                    <ActionForm action=logout>
                        <button type="submit" id="logout" class=format!("{} whitespace-nowrap", button_class(Variant::Secondary))>"Log out"</button>
                    </ActionForm>
                </header>
                <main class="mx-auto max-w-5xl px-4 py-6 md:px-8 md:py-8">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}
