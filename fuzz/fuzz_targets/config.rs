//! Arbitrary values for every option of the command line: parsing never
//! panics, a refused value is reworded as `VARIABLE: why`, and the value of
//! a secret option (the database URL, the secret, the SMTP URL) never
//! appears in the refusal.
#![no_main]

// The binary's own configuration module, as it is compiled into it.
#[allow(dead_code, unused_imports)]
#[path = "../../crates/accountd/src/config.rs"]
mod config;

use clap::CommandFactory;
use libfuzzer_sys::fuzz_target;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

fuzz_target!(|data: &[u8]| {
    let Some((&which, value)) = data.split_first() else {
        return;
    };
    let command = config::Cli::command();
    let options: Vec<&clap::Arg> = command
        .get_arguments()
        .filter(|a| a.get_long().is_some() && a.get_action().takes_values())
        .collect();
    let Some(arg) = options.get(usize::from(which) % options.len().max(1)) else {
        return;
    };
    let Some(long) = arg.get_long() else {
        return;
    };
    let args = [
        OsString::from("accountd"),
        OsString::from(format!("--{long}")),
        OsString::from_vec(value.to_vec()),
    ];
    match config::parse_args(args) {
        Ok(cli) => {
            let _ = config::Config::from_options(cli.options);
        }
        Err(config::Refusal::Value(e)) => {
            let text = e.to_string();
            // A value long and odd enough that no fixed message holds it.
            let value = String::from_utf8_lossy(value);
            let odd = value.chars().any(|c| "~#%!^|".contains(c) || !c.is_ascii());
            if arg.is_hide_env_values_set() && value.len() >= 16 && odd {
                assert!(
                    !text.contains(value.as_ref()),
                    "--{long}: the refusal shows the value"
                );
            }
            if let Some(env) = arg.get_env() {
                assert!(
                    text.starts_with(&*env.to_string_lossy()),
                    "--{long}: {text}"
                );
            }
        }
        Err(config::Refusal::Other(_)) => {}
    }
});
