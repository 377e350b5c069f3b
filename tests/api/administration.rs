//! The administrators' page and API: 404 to everyone else, disabling accounts, deleting any
//! room or message, registration modes and invitations, and the audit log.

use std::time::Duration;

use chatroom::models::User;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{PASSWORD, Person, TestApp, error_code, location, spawn_app};
use super::wait::wait_until;

fn user_id(app: &TestApp, name: &str) -> i32 {
    User::find_by_username(&mut app.db(), name)
        .unwrap()
        .expect("the user exists")
        .id
}

/// Every administrators' path and call, with a method each answers to.
fn admin_requests(bob: i32, room: i32) -> Vec<(&'static str, String)> {
    vec![
        ("GET", "/admin".into()),
        ("GET", "/admin/users".into()),
        ("GET", "/admin/users?q=bo".into()),
        ("GET", "/admin/rooms".into()),
        ("POST", "/admin/registration".into()),
        ("POST", "/admin/invitations".into()),
        ("POST", "/admin/invitations/1/withdraw".into()),
        ("POST", format!("/admin/users/{bob}/disable")),
        ("POST", format!("/admin/users/{bob}/enable")),
        ("POST", format!("/admin/rooms/{room}/delete")),
        ("GET", "/api/admin/users".into()),
        ("GET", "/api/admin/rooms".into()),
        ("POST", format!("/api/admin/users/{bob}/disable")),
        ("POST", format!("/api/admin/users/{bob}/enable")),
        ("DELETE", format!("/api/admin/rooms/{room}")),
        // A method the path does not take says nothing either.
        ("GET", format!("/admin/users/{bob}/disable")),
        ("PUT", "/admin".into()),
    ]
}

async fn send(person: &mut Person, method: &str, path: &str) -> reqwest::Response {
    let token = person.csrf().await;
    let request = match method {
        "GET" => person.http.get(person.url(path)),
        "POST" if path.starts_with("/api/") => person
            .http
            .post(person.url(path))
            .header("X-CSRF-Token", &token)
            .json(&json!({})),
        "POST" => person
            .http
            .post(person.url(path))
            .form(&[("csrf_token", token.as_str()), ("mode", "closed")]),
        "DELETE" => person
            .http
            .delete(person.url(path))
            .header("X-CSRF-Token", &token),
        _ => person
            .http
            .put(person.url(path))
            .header("X-CSRF-Token", &token),
    };
    request.send().await.expect("answered")
}

#[actix_web::test]
async fn every_admin_page_and_call_is_404_to_anyone_but_an_administrator() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let room = bob.create_room("Bobs room").await;
    let bob_id = user_id(&app, "bob");
    let mut stranger = app.person();

    for (method, path) in admin_requests(bob_id, room) {
        let res = send(&mut bob, method, &path).await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{method} {path} as bob"
        );
        // A visitor with no session meets the form check first (403 for any POST without a
        // session's token): the answer is the one a path that never existed gets.
        let res = send(&mut stranger, method, &path).await;
        let nowhere = match path.starts_with("/api/") {
            true => "/api/no-such-thing",
            false => "/no-such-page",
        };
        let nowhere = send(&mut stranger, method, nowhere).await;
        assert_eq!(res.status(), nowhere.status(), "{method} {path} anonymous");
        assert!(res.status().is_client_error());
    }
    let unchanged = User::find_by_username(&mut app.db(), "bob")
        .unwrap()
        .unwrap();
    assert!(unchanged.disabled_at.is_none(), "nothing was done");
    assert_eq!(
        bob.get("/api/rooms").await.status(),
        StatusCode::OK,
        "bob is still logged in"
    );
    let (_, lobby) = bob.page("/lobby").await;
    assert!(!lobby.contains("/admin"), "no link for bob");

    let (_, lobby) = alice.page("/lobby").await;
    assert!(
        lobby.contains(r#"href="/admin""#),
        "the administrator's lobby links there"
    );
    for path in [
        "/admin",
        "/admin/users",
        "/admin/rooms",
        "/api/admin/users",
        "/api/admin/rooms",
    ] {
        assert_eq!(alice.get(path).await.status(), StatusCode::OK, "{path}");
    }

    // A revoked administrator loses the pages at once, though still logged in.
    let mut conn = app.db();
    User::set_admin(&mut conn, "bob", true).unwrap();
    User::set_admin(&mut conn, "alice", false).unwrap();
    assert_eq!(alice.get("/admin").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get("/admin").await.status(), StatusCode::OK);
}

async fn wait_for_status(person: &Person, path: &str, status: StatusCode) -> Duration {
    wait_until(
        Duration::from_secs(5),
        &format!("{path} answering {status}"),
        || async { person.get(path).await.status() == status },
    )
    .await
}

#[actix_web::test]
async fn a_disabled_account_is_logged_out_at_once_and_its_login_says_it_is_disabled() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let mut bobs_phone = app.person();
    assert_eq!(bobs_phone.login("bob", PASSWORD).await.status(), 303);
    let room = bob.create_room("Chatter").await;
    bob.say(room, "hello").await;
    let bob_id = user_id(&app, "bob");

    alice.page("/admin/users?q=BO").await;
    let res = alice
        .post_form(&format!("/admin/users/{bob_id}/disable"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/users?notice=disabled");

    let poll = format!("/api/rooms/{room}/messages?after=0");
    assert_eq!(bob.get(&poll).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bobs_phone.get(&poll).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(location(&bob.get("/lobby").await), "/login");

    let res = bob.login("bob", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This account is disabled")
    );
    let res = bob.login("bob", "not the password at all").await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong password learns nothing about the account"
    );
    let res = bob
        .http
        .post(bob.url("/api/session"))
        .json(&json!({"username": "bob", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "account_disabled");

    let (_, users) = alice.page("/admin/users?q=bob").await;
    assert!(users.contains("disabled"), "{users}");
    let res = alice
        .post_json(&format!("/api/admin/users/{bob_id}/enable"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["disabled"], false);
    assert_eq!(
        bob.login("bob", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let (_, front) = alice.page("/admin").await;
    let disabled = front
        .find("disabled user")
        .expect("disabling is in the audit log");
    let enabled = front
        .find("enabled user")
        .expect("enabling is in the audit log");
    assert!(enabled < disabled, "newest first");
    assert!(front[..disabled].contains("alice"), "with who did it");
}

#[actix_web::test]
async fn no_administrator_disables_their_own_account_or_the_last_administrator() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let alice_id = user_id(&app, "alice");
    let res = alice
        .post_json(&format!("/api/admin/users/{alice_id}/disable"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // Nor does the page offer it: her own row has no Disable button.
    app.user("bea").await;
    let (_, page) = alice.page("/admin/users").await;
    assert!(
        !page.contains(&format!("/admin/users/{alice_id}/disable")),
        "{page}"
    );
    let bea_id = user_id(&app, "bea");
    assert!(
        page.contains(&format!("/admin/users/{bea_id}/disable")),
        "others' rows have one: {page}"
    );

    let mut bob = app.user("bob").await;
    User::set_admin(&mut app.db(), "bob", true).unwrap();
    bob.page("/lobby").await;
    let res = bob
        .post_form(&format!("/admin/users/{alice_id}/disable"), &[])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "another administrator may"
    );
    let bob_id = user_id(&app, "bob");
    // bob is now the last administrator who can log in: revoking him is refused too.
    let refused = User::set_admin(&mut app.db(), "bob", false);
    assert!(refused.is_err());
    let res = bob
        .post_json(&format!("/api/admin/users/{bob_id}/disable"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        bob.get("/api/admin/users").await.status(),
        StatusCode::OK,
        "bob still runs the server"
    );
}

#[actix_web::test]
async fn an_administrator_deletes_any_public_room_and_its_members_are_told() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let mut carol = app.user("carol").await;
    let room = bob.create_room("Bobs room").await;
    carol.enter_and_poll(room).await;
    let said = bob.say(room, "not nice").await;

    // Any message in a public room, without being its creator.
    alice.enter_and_poll(room).await;
    let res = alice
        .http
        .delete(alice.url(&format!("/api/rooms/{room}/messages/{}", said["id"])))
        .header("X-CSRF-Token", alice.csrf().await)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let entries = carol.entries_after(room, 0).await;
    assert!(
        entries.iter().any(|e| e["kind"] == "deleted"),
        "{entries:?}"
    );

    let (_, rooms) = alice.page("/admin/rooms").await;
    assert!(rooms.contains("Bobs room"), "{rooms}");
    let res = alice
        .post_form(&format!("/admin/rooms/{room}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(carol.poll(room, "0").await.status(), StatusCode::GONE);
    assert_eq!(bob.poll(room, "0").await.status(), StatusCode::GONE);
    let (_, front) = alice.page("/admin").await;
    assert!(front.contains("deleted room"), "audited");
    assert!(front.contains("deleted message"), "audited");

    // A direct conversation is nobody's to moderate.
    let direct = {
        let res = bob.post_form("/direct", &[("username", "carol")]).await;
        location(&res)
            .strip_prefix("/rooms/")
            .unwrap()
            .parse::<i32>()
            .unwrap()
    };
    let res = alice
        .http
        .delete(alice.url(&format!("/api/admin/rooms/{direct}")))
        .header("X-CSRF-Token", alice.csrf().await)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn registration_by_invitation_takes_one_unused_link_once() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    alice.page("/admin").await;
    let res = alice
        .post_form("/admin/registration", &[("mode", "invite")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let mut stranger = app.person();
    let (_, login) = stranger.page("/login").await;
    assert!(login.contains("by invitation only"), "{login}");
    let (_, register) = stranger.page("/register").await;
    assert!(
        register.contains("by invitation only")
            && !register.contains("<form method=\"post\" action=\"/register\"")
    );
    let res = stranger
        .post_form(
            "/register",
            &[("username", "sneaky"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = stranger
        .http
        .post(stranger.url("/api/users"))
        .json(&json!({"username": "sneaky", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, "invitation_required");

    let link = make_invitation(&mut alice).await;
    let token = link.split("invite=").nth(1).unwrap().to_owned();
    let (_, again) = alice.page("/admin").await;
    assert!(!again.contains(&token), "the link is shown once");
    assert!(again.contains("class=\"invitation\""), "listed as unused");

    let mut dave = app.person();
    let (_, form) = dave.page(&format!("/register?invite={token}")).await;
    assert!(
        form.contains(&format!("name=\"invite\" value=\"{token}\"")),
        "{form}"
    );
    let res = dave
        .post_form(
            "/register",
            &[
                ("username", "dave"),
                ("password", PASSWORD),
                ("invite", &token),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let mut eve = app.person();
    let (_, used) = eve.page(&format!("/register?invite={token}")).await;
    assert!(used.contains("cannot be used"), "{used}");
    let res = eve
        .http
        .post(eve.url("/api/users"))
        .json(&json!({"username": "eve", "password": PASSWORD, "invite": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, "invitation_unusable");

    // Withdrawn: the link stops working. A fresh one works through the API too.
    let withdrawn = make_invitation(&mut alice).await;
    let (_, front) = alice.page("/admin").await;
    let id = front
        .split("/admin/invitations/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let res = alice
        .post_form(&format!("/admin/invitations/{id}/withdraw"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, gone) = eve
        .page(&format!(
            "/register?{}",
            withdrawn.split('?').nth(1).unwrap()
        ))
        .await;
    assert!(gone.contains("cannot be used"));
    let fresh = make_invitation(&mut alice).await;
    let res = eve
        .http
        .post(eve.url("/api/users"))
        .json(&json!({
            "username": "eve",
            "password": PASSWORD,
            "invite": fresh.split("invite=").nth(1).unwrap(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    let users: Vec<String> = alice
        .get("/api/admin/users")
        .await
        .json::<Value>()
        .await
        .unwrap()["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, ["alice", "dave", "eve"]);
}

/// Makes an invitation on /admin and returns the link the page shows once.
async fn make_invitation(admin: &mut Person) -> String {
    let res = admin.post_form("/admin/invitations", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, front) = admin.page("/admin").await;
    let marker = "id=\"new-invitation\" href=\"";
    let start = front.find(marker).expect("the new link") + marker.len();
    let end = front[start..].find('"').unwrap();
    let link = front[start..start + end].to_owned();
    assert!(link.starts_with(&admin.base), "{link}");
    link
}

#[actix_web::test]
async fn closed_registration_refuses_everyone_and_the_pages_say_so() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let invitation = make_invitation(&mut alice).await;
    alice.page("/admin").await;
    let res = alice
        .post_form("/admin/registration", &[("mode", "closed")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = alice
        .post_form("/admin/registration", &[("mode", "sometimes")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let mut stranger = app.person();
    let (_, login) = stranger.page("/login").await;
    assert!(login.contains("Registration is closed"), "{login}");
    let (_, register) = stranger
        .page(&format!(
            "/register?{}",
            invitation.split('?').nth(1).unwrap()
        ))
        .await;
    assert!(
        register.contains("Registration is closed"),
        "an invitation does not open it"
    );
    let res = stranger
        .http
        .post(stranger.url("/api/users"))
        .json(&json!({"username": "newbie", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "registration_closed");
    assert!(
        User::find_by_username(&mut app.db(), "newbie")
            .unwrap()
            .is_none()
    );

    alice
        .post_form("/admin/registration", &[("mode", "open")])
        .await;
    let (_, login) = stranger.page("/login").await;
    assert!(login.contains("Create an account"));
    assert_eq!(
        stranger.register("newbie", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

/// A session ended by another process (a server command, another server) stops working here
/// within about a second, though this server had it in memory. A password reset by command is
/// a one-time password: its login must choose a new one before anything else.
#[actix_web::test]
async fn sessions_ended_by_a_server_command_stop_working_on_the_running_server() {
    let Some(app) = spawn_app().await else { return };
    let _alice = app.user("alice").await;
    let bob = app.user("bob").await;
    assert_eq!(bob.get("/api/rooms").await.status(), StatusCode::OK);
    let url = app.database().url.clone();

    let output = super::initdb::chatroom(&["users", "disable", "BOB", "--database", &url]);
    assert!(
        output.status.success(),
        "{}",
        super::initdb::stderr(&output)
    );
    let took = wait_for_status(&bob, "/api/rooms", StatusCode::UNAUTHORIZED).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");

    let output = super::initdb::chatroom(&["users", "enable", "bob", "--database", &url]);
    assert!(output.status.success());
    let mut bob = app.person();
    assert_eq!(
        bob.login("bob", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let output = super::initdb::chatroom(&["users", "reset-password", "bob", "--database", &url]);
    assert!(
        output.status.success(),
        "{}",
        super::initdb::stderr(&output)
    );
    wait_for_status(&bob, "/api/rooms", StatusCode::UNAUTHORIZED).await;
    let printed = super::initdb::stdout(&output);
    let password = printed
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("one-time password for bob: "))
        .expect("the new password")
        .to_owned();
    assert_eq!(
        bob.login("bob", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bob.login("bob", &password).await.status(),
        StatusCode::SEE_OTHER
    );

    // A one-time password: the login can do nothing but choose a new one.
    let res = bob.get("/lobby").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(super::helpers::location(&res), "/account?notice=one-time");
    let res = bob.get("/api/rooms").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        super::helpers::error_code(res).await,
        "password_change_required"
    );
    let (status, page) = bob.page("/account?notice=one-time").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("one-time password"), "{page}");
    let change = |new: &str| {
        [
            ("current_password", password.clone()),
            ("new_password", new.to_owned()),
        ]
    };
    let same = change(&password);
    let fields: Vec<(&str, &str)> = same.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = bob.post_form("/account/password", &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the same one again");
    assert_eq!(location(&res), "/account", "refused: back to the form");
    assert_eq!(bob.get("/api/rooms").await.status(), StatusCode::FORBIDDEN);
    let chosen = change("a fresh secret of my own");
    let fields: Vec<(&str, &str)> = chosen.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = bob.post_form("/account/password", &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(bob.get("/api/rooms").await.status(), StatusCode::OK);
    let mut again = app.person();
    assert_eq!(
        again.login("bob", &password).await.status(),
        StatusCode::UNAUTHORIZED,
        "used once"
    );
    assert_eq!(
        again
            .login("bob", "a fresh secret of my own")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(again.get("/api/rooms").await.status(), StatusCode::OK);
}

/// A new one-time password for `name` from `chatroom users reset-password`.
fn one_time_password(app: &TestApp, name: &str) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_chatroom"))
        .args(["users", "reset-password", name, "--database"])
        .arg(&app.database().url)
        .env("RUST_LOG", "off")
        .env("CHATROOM_BCRYPT_COST", "4")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        super::initdb::stderr(&output)
    );
    super::initdb::stdout(&output)
        .lines()
        .next()
        .and_then(|line| line.strip_prefix(&format!("one-time password for {name}: ")))
        .expect("the new password")
        .to_owned()
}

/// What a login form answers, and whether its page says the one-time password expired.
async fn log_in_told_expired(
    person: &mut Person,
    name: &str,
    password: &str,
) -> (StatusCode, bool) {
    let res = person.login(name, password).await;
    let status = res.status();
    let told = res
        .text()
        .await
        .unwrap()
        .contains("This one-time password has expired: ask an administrator for a new one.");
    (status, told)
}

#[actix_web::test]
async fn a_one_time_password_works_for_one_login_within_a_day() {
    let clock = chatroom::clock::ManualClock::new();
    let Some(app) = super::helpers::spawn_app_tweaked(|s| s.clock = clock.clone()).await else {
        return;
    };
    let _alice = app.user("alice").await;
    app.user("bob").await;

    let password = one_time_password(&app, "bob");
    let mut first = app.person();
    assert_eq!(
        first.login("bob", &password).await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, told) = log_in_told_expired(&mut app.person(), "bob", &password).await;
    assert_eq!((status, told), (StatusCode::FORBIDDEN, true), "used once");
    let res = app
        .person()
        .post_json(
            "/api/session",
            &json!({"username": "bob", "password": password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "one_time_password_expired");
    let (status, told) = log_in_told_expired(&mut app.person(), "bob", "not the password").await;
    assert_eq!(
        (status, told),
        (StatusCode::UNAUTHORIZED, false),
        "only who knows it is told"
    );
    // The login that used it may still choose a new password.
    first.page("/account").await;
    let res = first
        .post_form(
            "/account/password",
            &[
                ("current_password", &password),
                ("new_password", "a fresh secret of my own"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(first.get("/api/rooms").await.status(), StatusCode::OK);

    // Two logins with a new one at once: one gets in.
    let password = one_time_password(&app, "bob");
    let mut two = [app.person(), app.person()];
    for person in &mut two {
        person.csrf().await;
    }
    let [a, b] = &mut two;
    let fields = [("username", "bob"), ("password", password.as_str())];
    let (a, b) = futures_util::future::join(
        a.post_form("/login", &fields),
        b.post_form("/login", &fields),
    )
    .await;
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::FORBIDDEN]);

    // Unused, it works for a day, and no longer.
    let password = one_time_password(&app, "bob");
    clock.advance(Duration::from_secs(24 * 3600 - 60));
    assert_eq!(
        app.person().login("bob", &password).await.status(),
        StatusCode::SEE_OTHER
    );
    let password = one_time_password(&app, "bob");
    clock.advance(Duration::from_secs(24 * 3600 + 1));
    let (status, told) = log_in_told_expired(&mut app.person(), "bob", &password).await;
    assert_eq!((status, told), (StatusCode::FORBIDDEN, true), "expired");
}

/// Who `person`'s poll of the room says is present.
async fn present(person: &Person, room: i32) -> Vec<String> {
    let res = person.poll(room, "0").await;
    assert_eq!(res.status(), StatusCode::OK, "polling room {room}");
    let body: Value = res.json().await.unwrap();
    body["present"]
        .as_array()
        .expect("a present array")
        .iter()
        .map(|name| name.as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_disabled_user_is_no_longer_present_in_their_room_right_after_the_disable() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut carol = app.user("carol").await;
    let room = carol.create_room("Porch").await;
    for (name, path) in [
        ("bob", "/admin/users/{id}/disable"),
        ("dave", "/api/admin/users/{id}/disable"),
    ] {
        let mut person = app.user(name).await;
        person.enter_and_poll(room).await;
        // An arrival shows within a moment, not at once.
        wait_until(
            Duration::from_secs(5),
            &format!("{name} arrives"),
            || async { present(&carol, room).await.contains(&name.to_owned()) },
        )
        .await;

        let path = path.replace("{id}", &user_id(&app, name).to_string());
        let res = match path.starts_with("/api/") {
            true => alice.post_json(&path, &json!({})).await,
            false => alice.post_form(&path, &[]).await,
        };
        assert!(
            res.status().is_success() || res.status() == StatusCode::SEE_OTHER,
            "{path}"
        );
        // No wait: presence forgets them at once, not at its 15 s timeout.
        let present = present(&carol, room).await;
        assert!(
            !present.contains(&name.to_owned()),
            "after {path}: {present:?}"
        );
    }
}
