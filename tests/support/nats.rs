//! Test support: a real `nats-server` with JetStream on loopback ports (one server or a
//! three-node cluster), started by the test and killed at the end, and a reader of a stream's
//! messages. Tests skip (print why, pass) when the binary is missing.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The nats-server binary: `$NATS_SERVER`, Debian's `/usr/sbin/nats-server`, or one on PATH.
pub fn server_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let mut cands = vec![
        PathBuf::from("/usr/sbin/nats-server"),
        PathBuf::from("/usr/bin/nats-server"),
    ];
    if let Some(path) = std::env::var_os("PATH") {
        cands.extend(std::env::split_paths(&path).map(|d| d.join("nats-server")));
    }
    cands.into_iter().find(|p| p.is_file())
}

/// The binary, or None after printing why the test is skipped.
pub fn server_or_skip(test: &str) -> Option<PathBuf> {
    let b = server_bin();
    super::skip::need(
        test,
        b.is_some(),
        "nats-server",
        "apt-get install nats-server, or set NATS_SERVER (or run .ci/setup)",
    );
    b
}

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, deadline: Duration) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
            .is_ok()
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// One nats-server process. Killed (SIGKILL) when dropped.
pub struct Server {
    bin: PathBuf,
    args: Vec<String>,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    /// A single server with JetStream, its store in `store`.
    pub fn start(bin: &Path, store: &Path, port: u16) -> Server {
        std::fs::create_dir_all(store).unwrap();
        let args = vec![
            "-js".into(),
            "-sd".into(),
            store.display().to_string(),
            "-p".into(),
            port.to_string(),
            "-a".into(),
            "127.0.0.1".into(),
        ];
        Self::spawn(bin, args, port, store.join("server.log"))
    }

    /// A server from a configuration file.
    pub fn start_conf(bin: &Path, conf: &Path, port: u16, log: PathBuf) -> Server {
        Self::spawn(
            bin,
            vec!["-c".into(), conf.display().to_string()],
            port,
            log,
        )
    }

    fn spawn(bin: &Path, args: Vec<String>, port: u16, log: PathBuf) -> Server {
        let mut s = Server {
            bin: bin.to_owned(),
            args,
            port,
            child: None,
            log,
        };
        s.restart();
        s
    }

    /// Starts the process again with the same arguments (same store, same port).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.bin)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        assert!(
            wait_listening(self.port, Duration::from_secs(15)),
            "nats-server did not listen on 127.0.0.1:{} (log: {})",
            self.port,
            self.log.display()
        );
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A three-node JetStream cluster on loopback ports.
pub struct Cluster {
    pub nodes: Vec<Server>,
}

impl Cluster {
    pub fn start(bin: &Path, dir: &Path) -> Cluster {
        let client: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let route: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut nodes = Vec::new();
        for i in 0..3 {
            let store = dir.join(format!("n{i}"));
            std::fs::create_dir_all(&store).unwrap();
            let routes: Vec<String> = (0..3)
                .filter(|&j| j != i)
                .map(|j| format!("nats-route://127.0.0.1:{}", route[j]))
                .collect();
            let conf = format!(
                "server_name: n{i}\nlisten: 127.0.0.1:{}\njetstream {{\n  store_dir: \"{}\"\n}}\n\
                 cluster {{\n  name: dcsensor-test\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
                client[i],
                store.display(),
                route[i],
                routes.join(", ")
            );
            let path = dir.join(format!("n{i}.conf"));
            std::fs::write(&path, conf).unwrap();
            nodes.push(Server::start_conf(
                bin,
                &path,
                client[i],
                dir.join(format!("n{i}.log")),
            ));
        }
        Cluster { nodes }
    }

    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(|n| n.url())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One message read back from a stream.
#[derive(Debug, Clone)]
pub struct Msg {
    pub subject: String,
    pub msg_id: Option<String>,
    pub payload: Vec<u8>,
}

/// Reads every message of `stream` (in stream order) from the server at `url`, retrying until
/// `deadline` (a cluster may be electing a leader).
pub fn read_stream(url: &str, stream: &str, deadline: Duration) -> Vec<Msg> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let end = Instant::now() + deadline;
    loop {
        let r: Result<Vec<Msg>, String> = rt.block_on(async {
            let client = async_nats::connect(url).await.map_err(|e| e.to_string())?;
            let js = async_nats::jetstream::new(client);
            let mut st = js.get_stream(stream).await.map_err(|e| e.to_string())?;
            let info = st.info().await.map_err(|e| e.to_string())?.clone();
            let mut out = Vec::new();
            if info.state.messages == 0 {
                return Ok(out);
            }
            for seq in info.state.first_sequence..=info.state.last_sequence {
                let m = st
                    .get_raw_message(seq)
                    .await
                    .map_err(|e| format!("message {seq}: {e}"))?;
                out.push(Msg {
                    subject: m.subject.to_string(),
                    msg_id: m.headers.get("Nats-Msg-Id").map(|v| v.to_string()),
                    payload: m.payload.to_vec(),
                });
            }
            Ok(out)
        });
        match r {
            Ok(v) => return v,
            Err(e) if Instant::now() < end => {
                eprintln!("reading stream {stream} from {url}: {e}; again");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("cannot read stream {stream} from {url}: {e}"),
        }
    }
}
