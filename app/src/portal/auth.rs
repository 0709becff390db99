//! Public pages: log in, sign up, password reset, email verification, invitations.

#[cfg(feature = "ssr")]
use crate::web::session::Rpc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::ui::*;

#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), ServerFnError> {
    use crate::services::accounts;
    use crate::web::session;
    let state = session::state()?;
    let ip = session::client_ip().await;
    let user = accounts::log_in(&state, &email, &password, &ip)
        .await
        .rpc()?;
    let account_id = accounts::primary_account(&state, &user.id).await.rpc()?;
    session::sign_in(&user.id, &account_id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "signup")]
pub async fn signup(
    account_name: String,
    email: String,
    password: String,
) -> Result<(), ServerFnError> {
    use crate::web::session;
    let state = session::state()?;
    let ip = session::client_ip().await;
    let created = crate::services::accounts::sign_up(&state, &email, &password, &account_name, &ip)
        .await
        .rpc()?;
    session::sign_in(&created.user.id, &created.account.id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    crate::web::session::sign_out().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), ServerFnError> {
    let state = crate::web::session::state()?;
    let ip = crate::web::session::client_ip().await;
    crate::services::accounts::request_password_reset(&state, &email, &ip)
        .await
        .rpc()?;
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "reset_link_valid")]
pub async fn reset_link_valid(token: String) -> Result<bool, ServerFnError> {
    let state = crate::web::session::state()?;
    crate::services::accounts::reset_link_valid(&state, &token)
        .await
        .rpc()
}

#[server(prefix = "/rpc", endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), ServerFnError> {
    let state = crate::web::session::state()?;
    crate::services::accounts::reset_password(&state, &token, &password)
        .await
        .rpc()?;
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<String, ServerFnError> {
    let state = crate::web::session::state()?;
    let user = crate::services::accounts::verify_email(&state, &token)
        .await
        .rpc()?;
    Ok(user.email)
}

#[server(prefix = "/rpc", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), ServerFnError> {
    let me = crate::web::session::require().await?;
    let ip = crate::web::session::client_ip().await;
    crate::services::accounts::resend_verification(
        &crate::web::session::state()?,
        &me.user_id,
        &ip,
    )
    .await
    .rpc()?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InviteSummary {
    pub email: String,
    pub account_name: String,
    pub role: String,
    pub has_user: bool,
}

#[server(prefix = "/rpc", endpoint = "invite_info")]
pub async fn invite_info(token: String) -> Result<InviteSummary, ServerFnError> {
    let state = crate::web::session::state()?;
    let i = crate::services::team::invite_info(&state, &token)
        .await
        .rpc()?;
    Ok(InviteSummary {
        email: i.email,
        account_name: i.account_name,
        role: i.role.as_str().into(),
        has_user: i.has_user,
    })
}

#[server(prefix = "/rpc", endpoint = "accept_invite")]
pub async fn accept_invite(token: String, password: String) -> Result<(), ServerFnError> {
    use crate::web::session;
    let state = session::state()?;
    let ip = session::client_ip().await;
    let me = session::current().await?;
    let (user, account_id) =
        crate::services::team::accept(&state, &token, &password, &ip, me.as_ref())
            .await
            .rpc()?;
    session::sign_in(&user.id, &account_id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The centred frame of every page shown before log-in.
#[component]
pub fn AuthFrame(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <Title text=title.clone()/>
        <main class="flex min-h-screen flex-col items-center justify-center px-4 py-10">
            <a href="/" class="mb-6 flex items-center gap-2 text-lg font-semibold text-slate-900">
                <Logo/>
                "Switchboard"
            </a>
            <div class="w-full max-w-sm rounded-2xl border border-slate-200 bg-white p-6 shadow-sm sm:p-8">
                <h1 class="mb-5 text-xl font-semibold text-slate-900">{title}</h1>
                {children()}
            </div>
        </main>
    }
}

#[component]
pub fn Logo() -> impl IntoView {
    view! {
        <span class="grid h-8 w-8 place-items-center rounded-lg bg-brand-600 text-sm font-bold text-white" aria-hidden="true">"S"</span>
    }
}

fn query(name: &'static str) -> Memo<String> {
    let q = use_query_map();
    Memo::new(move |_| q.read().get(name).unwrap_or_default())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    view! {
        <AuthFrame title="Log in">
            <ActionForm action=login attr:class="space-y-4" attr:id="login-form">
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true/>
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true/>
                <ActionResult value=login.value().into()/>
                <div class="flex items-center justify-between gap-3">
                    <Button id="login-submit" pending=login.pending()>"Log in"</Button>
                    <a href="/forgot-password" class="text-sm text-brand-600 hover:underline">"Forgot password?"</a>
                </div>
            </ActionForm>
            <p class="mt-6 text-sm text-slate-600">"New here? " <a href="/signup" class="font-medium text-brand-600 hover:underline">"Create an account"</a></p>
        </AuthFrame>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    view! {
        <AuthFrame title="Create your account">
            <ActionForm action=signup attr:class="space-y-4" attr:id="signup-form">
                <Field label="Company or project name" name="account_name" autocomplete="organization" required=true/>
                <Field label="Work email" name="email" kind="email" autocomplete="email" required=true/>
                <Field label="Password" name="password" kind="password" autocomplete="new-password" required=true hint="At least 10 characters."/>
                <ActionResult value=signup.value().into()/>
                <Button id="signup-submit" pending=signup.pending()>"Create account"</Button>
                <p class="text-xs text-slate-500">"Every new account starts with a 7-day trial of the pro tier."</p>
            </ActionForm>
            <p class="mt-6 text-sm text-slate-600">"Already have an account? " <a href="/login" class="font-medium text-brand-600 hover:underline">"Log in"</a></p>
        </AuthFrame>
    }
}

#[component]
pub fn ForgotPage() -> impl IntoView {
    let forgot = ServerAction::<ForgotPassword>::new();
    view! {
        <AuthFrame title="Reset your password">
            <ActionForm action=forgot attr:class="space-y-4">
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true/>
                <ActionResult value=forgot.value().into() success="If an account uses this email, a reset link is on its way. It works once, for one hour."/>
                <Button pending=forgot.pending()>"Send reset link"</Button>
            </ActionForm>
            <p class="mt-6 text-sm text-slate-600">
                <a href="/login" class="text-brand-600 hover:underline">"Back to log in"</a>
            </p>
        </AuthFrame>
    }
}

#[component]
pub fn ResetPage() -> impl IntoView {
    let token = query("token");
    let valid = Resource::new(move || token.get(), reset_link_valid);
    let reset = ServerAction::<ResetPassword>::new();
    view! {
        <AuthFrame title="Choose a new password">
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match valid.await {
                        Ok(true) => view! {
                            <ActionForm action=reset attr:class="space-y-4">
                                <input type="hidden" name="token" value=token.get_untracked()/>
                                <Field label="New password" name="password" kind="password" autocomplete="new-password" required=true hint="At least 10 characters."/>
                                <ActionResult value=reset.value().into() success="Your password is changed. Log in with it now."/>
                                <Button pending=reset.pending()>"Save password"</Button>
                            </ActionForm>
                        }.into_any(),
                        Ok(false) => view! {
                            <Alert tone=Tone::Warning>"This reset link is invalid, was already used or has expired. "
                                <a href="/forgot-password" class="font-medium underline">"Request a new one"</a>"."</Alert>
                        }.into_any(),
                        Err(e) => view! { <Alert tone=Tone::Danger>{error_text(&e)}</Alert> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="mt-6 text-sm"><a href="/login" class="text-brand-600 hover:underline">"Back to log in"</a></p>
        </AuthFrame>
    }
}

#[component]
pub fn VerifyPage() -> impl IntoView {
    let token = query("token");
    let result = Resource::new(move || token.get(), verify_email);
    view! {
        <AuthFrame title="Confirm your email">
            <Suspense fallback=|| view! { <Loading text="Confirming…"/> }>
                {move || Suspend::new(async move {
                    match result.await {
                        Ok(email) => view! {
                            <div id="verify-result" class="space-y-4">
                                <Alert tone=Tone::Success>{format!("{email} is confirmed. Thank you.")}</Alert>
                                <a href="/" class=button_class(Variant::Primary)>"Continue to the Portal"</a>
                            </div>
                        }.into_any(),
                        Err(e) => view! {
                            <div id="verify-result" class="space-y-4">
                                <Alert tone=Tone::Warning>{error_text(&e)}</Alert>
                                <p class="text-sm text-slate-600">"Log in and use “Send the link again” on the dashboard."</p>
                            </div>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </AuthFrame>
    }
}

#[component]
pub fn InvitePage() -> impl IntoView {
    let token = query("token");
    let info = Resource::new(move || token.get(), invite_info);
    let accept = ServerAction::<AcceptInvite>::new();
    view! {
        <AuthFrame title="Join a team">
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(i) => view! {
                            <div class="space-y-4">
                                <p class="text-sm text-slate-700">
                                    "You are invited to "<strong>{i.account_name.clone()}</strong>" as "<strong>{i.role.clone()}</strong>
                                    " with "<strong>{i.email.clone()}</strong>"."
                                </p>
                                <ActionForm action=accept attr:class="space-y-4">
                                    <input type="hidden" name="token" value=token.get_untracked()/>
                                    <Field
                                        label=if i.has_user { "Your current password" } else { "Choose a password" }
                                        name="password" kind="password"
                                        autocomplete=if i.has_user { "current-password" } else { "new-password" }
                                        required=true
                                        hint=if i.has_user { "" } else { "At least 10 characters." }/>
                                    <ActionResult value=accept.value().into()/>
                                    <Button pending=accept.pending()>"Accept invitation"</Button>
                                </ActionForm>
                            </div>
                        }.into_any(),
                        Err(e) => view! { <Alert tone=Tone::Warning>{error_text(&e)}</Alert> }.into_any(),
                    }
                })}
            </Suspense>
        </AuthFrame>
    }
}
