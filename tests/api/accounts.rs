//! Registration and login.

use chatroom::domain::Username;
use chatroom::models::User;
use reqwest::StatusCode;

use super::helpers::{PASSWORD, location, spawn_app};

#[actix_web::test]
async fn registering_logs_the_newcomer_in_and_lands_in_the_lobby() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.person();

    let res = alice.register("alice", PASSWORD).await;

    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/lobby");
    let (status, lobby) = alice.page("/lobby").await;
    assert_eq!(status, StatusCode::OK);
    assert!(lobby.contains(r#"<strong class="username">alice</strong>"#));
    assert!(
        lobby.contains(r#"action="/logout""#),
        "every page has a logout button"
    );
}

#[actix_web::test]
async fn invalid_usernames_get_400_and_the_form_keeps_what_was_typed() {
    let Some(app) = spawn_app().await else { return };
    for bad in ["ab", "has space", "semi;colon", &"x".repeat(33)] {
        let mut person = app.person();
        let res = person.register(bad, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains("A username"),
            "says what is wrong for {bad:?}"
        );
        assert!(body.contains(&format!(r#"value="{bad}""#)), "keeps {bad:?}");
    }
}

#[actix_web::test]
async fn passwords_shorter_than_8_characters_or_longer_than_72_bytes_get_400() {
    let Some(app) = spawn_app().await else { return };
    for bad in ["short".to_owned(), "é".repeat(37)] {
        let mut person = app.person();
        let res = person.register("carol", &bad).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.text().await.unwrap().contains("A password"));
    }
    let mut person = app.person();
    let res = person.register("carol", &"p".repeat(72)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "72 bytes is allowed");
}

#[actix_web::test]
async fn common_passwords_and_passwords_built_from_the_username_get_400_and_the_form_again() {
    let Some(app) = spawn_app().await else { return };
    for (weak, why) in [
        ("password1", "most common"),
        ("Sunshine1", "most common"),
        ("carol2024!", "username"),
        ("lorac-lorac", "username"),
    ] {
        let mut person = app.person();
        let res = person.register("Carol", weak).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{weak}");
        let body = res.text().await.unwrap();
        assert!(body.contains(why), "says why {weak} is refused");
        assert!(body.contains(r#"value="Carol""#), "keeps the username");
    }
    assert!(
        User::find_by_username(&mut app.db(), "carol")
            .unwrap()
            .is_none(),
        "no account was made"
    );
}

#[actix_web::test]
async fn an_existing_user_whose_password_is_now_refused_can_still_log_in() {
    let Some(app) = spawn_app().await else { return };
    let name = Username::parse("olduser").unwrap();
    let hash = bcrypt::hash("password1", 4).unwrap();
    User::create(&mut app.db(), &name, &hash).unwrap();

    let res = app.person().login("olduser", "password1").await;

    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/lobby");
}

#[actix_web::test]
async fn a_username_taken_in_any_letter_case_gets_409_with_the_form_again() {
    let Some(app) = spawn_app().await else { return };
    app.user("Alice").await;

    let mut imposter = app.person();
    let res = imposter.register("aLiCe", PASSWORD).await;

    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(body.contains("taken"));
    assert!(body.contains(r#"value="aLiCe""#));
}

#[actix_web::test]
async fn passwords_are_stored_only_as_bcrypt_hashes() {
    let Some(app) = spawn_app().await else { return };
    app.user("alice").await;

    let user = User::find_by_username(&mut app.db(), "alice")
        .unwrap()
        .expect("alice is stored");
    assert!(user.password_hash.starts_with("$2b$"), "a bcrypt hash");
    assert!(!user.password_hash.contains(PASSWORD));
    assert!(bcrypt::verify(PASSWORD, &user.password_hash).unwrap());
}

#[actix_web::test]
async fn logging_in_with_the_right_password_lands_in_the_lobby() {
    let Some(app) = spawn_app().await else { return };
    app.user("alice").await;

    let mut alice = app.person();
    let res = alice.login("ALICE", PASSWORD).await;

    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/lobby");
    let (status, _) = alice.page("/lobby").await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401_page() {
    let Some(app) = spawn_app().await else { return };
    app.user("alice").await;

    let mut wrong_password = app.person();
    let res = wrong_password.login("alice", "not the password").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let wrong_page = res.text().await.unwrap();

    let mut unknown_user = app.person();
    let res = unknown_user.login("nobody", "not the password").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let unknown_page = res.text().await.unwrap();

    let without_names = |page: &str| {
        page.replace("alice", "NAME")
            .replace("nobody", "NAME")
            .lines()
            .filter(|l| !l.contains("csrf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_names(&wrong_page), without_names(&unknown_page));
    assert!(wrong_page.contains("Wrong username or password."));
    assert!(
        wrong_page.contains(r#"value="alice""#),
        "the form keeps the username"
    );
}

#[actix_web::test]
async fn anonymous_visitors_are_sent_to_the_login_page() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.person();
    for path in ["/", "/lobby", "/rooms/1"] {
        let res = visitor.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&res), "/login", "{path}");
    }
}

#[actix_web::test]
async fn the_front_page_sends_a_logged_in_user_to_the_lobby() {
    let Some(app) = spawn_app().await else { return };
    let alice = app.user("alice").await;
    let res = alice.get("/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/lobby");
}

#[actix_web::test]
async fn the_api_answers_anonymous_callers_with_401_json() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.person();
    let res = visitor.poll(1, "0").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(super::helpers::error_code(res).await, "unauthenticated");
}

#[actix_web::test]
async fn unknown_pages_get_a_404_page_with_a_way_home() {
    let Some(app) = spawn_app().await else { return };
    let res = app.person().get("/no/such/page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body = res.text().await.unwrap();
    assert!(body.contains(r#"href="/lobby""#));
}

#[actix_web::test]
async fn the_health_check_answers_ok() {
    let Some(app) = spawn_app().await else { return };
    let res = app.person().get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ok");
}

#[actix_web::test]
async fn a_login_password_longer_than_72_bytes_never_matches_by_truncation() {
    let Some(app) = spawn_app().await else { return };
    let exact = "p".repeat(72);
    let mut person = app.person();
    assert_eq!(
        person.register("dora", &exact).await.status(),
        StatusCode::SEE_OTHER
    );

    let mut other = app.person();
    let res = other.login("dora", &format!("{exact}extra")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = other.login("dora", &exact).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
