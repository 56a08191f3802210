package fakegithub

// Vocabulary of the synthetic repositories. Names and logins stay within what GitHub allows
// (ASCII letters, digits, '-', '_', '.'); descriptions carry the unicode, quotes and markup that
// real ones do.

var handles = []string{
	"alice", "bob", "kenji", "priya", "mateo", "olu", "sven", "lin", "fatima", "diego", "yuki",
	"chen", "anna", "omar", "lucas", "sofia", "ivan", "noah", "emma", "aarav", "zara", "leo",
	"mila", "hugo", "ines", "kwame", "nadia", "tomas", "eva", "rafael", "mei", "arjun", "lena",
	"pablo", "sara", "felix", "amara", "jonas", "hana", "theo", "codewizard", "pixelpusher",
	"bytebandit", "devnull", "nightowl", "hackerman", "coffeecoder", "quietstorm", "ghostshell",
}

var orgWords = []string{
	"acme", "openlab", "datacraft", "cloudnine", "bitforge", "northwind", "hexagon", "polaris",
	"quanta", "lumen", "vertex", "nimbus", "orbital", "tessera", "unicorn", "campus",
}

var orgSuffixes = []string{"labs", "hq", "dev", "io", "team", "org", "ai", "oss"}

var specialNames = []string{
	"dotfiles", "portfolio", "my-portfolio", "leetcode", "LeetCode-Solutions", "advent-of-code-2024",
	"aoc2024", "hello-world", "test", "test-repo", "demo", "homework", "notes", "blog", "nvim-config",
	"config", "website", "personal-website", "resume", "cv", "todo-app", "weather-app", "chat-app",
	"discord-bot", "telegram-bot", "algorithms", "data-structures", "snake-game", "tic-tac-toe",
	"calculator", "landing-page", "learning-rust", "learn-go", "python-projects", "ml-experiments",
	"kaggle", "thesis", "final-project", "capstone", "scripts", "utils", "sandbox", "playground",
	"first-repo", "practice", "projeto-final", "tp-integrador", "TP_Final", "Project1", "lab-02",
	"CS50", "react-app", "next-app", "vite-project", "flask-api", "spring-boot-demo",
}

var adjectives = []string{
	"quiet", "rapid", "tiny", "smart", "simple", "awesome", "super", "mini", "open", "auto",
	"cloud", "cyber", "deep", "fast", "green", "happy", "lazy", "micro", "neo", "nova", "pixel",
	"quantum", "rusty", "silent", "solar", "stellar", "swift", "turbo", "ultra", "zen", "blue",
	"crimson", "golden", "hidden", "iron", "lunar", "magic", "noisy", "polar", "retro", "shiny",
	"sleepy", "velvet", "wild", "cosmic",
}

var nouns = []string{
	"otter", "api", "bot", "cli", "dashboard", "engine", "finder", "game", "hub", "kit", "lab",
	"manager", "notes", "parser", "planner", "portal", "scraper", "server", "shop", "site",
	"stack", "store", "studio", "tracker", "tools", "viewer", "wallet", "wiki", "blog", "chat",
	"compiler", "crawler", "editor", "explorer", "generator", "launcher", "monitor", "player",
	"quiz", "recipes", "scheduler", "sync", "timer", "translator", "vault",
}

var descriptions = []string{
	"A {noun} built with {lang}",
	"My first {lang} project",
	"🚀 A blazing fast {noun} written in {lang}",
	"学习 {lang} 的练习项目",
	"Проект для изучения {lang}: {noun}",
	"Projet de fin d'études — {noun} en {lang}",
	"Trabajo práctico: {noun} con {lang} ✨",
	"{lang} で作った{noun}",
	"한국어 {noun} 프로젝트",
	"مشروع {noun} بلغة {lang}",
	"Übungsprojekt für {lang} – {noun}",
	"Ứng dụng {noun} viết bằng {lang}",
	"Simple {noun} :sparkles:",
	"{noun} for <my> homework & more",
	`Config files, "dotfiles" and C:\scripts`,
	"WIP",
	"🤖 {noun} bot 🤖",
	"Repository for the course project ({lang})",
	"Kleines {noun}-Tool 🛠️",
	"个人 {noun}，基于 {lang} 实现。",
}

var languageNames = []string{
	"JavaScript", "Python", "TypeScript", "Java", "HTML", "CSS", "C#", "C++", "C", "Go", "Rust",
	"PHP", "Shell", "Jupyter Notebook", "Kotlin", "Swift", "Ruby", "Dart", "Vue", "SCSS",
	"Dockerfile", "Makefile", "Lua", "R", "Scala", "Haskell", "Objective-C", "PowerShell",
	"Batchfile", "CMake", "Svelte", "Solidity", "Elixir", "Zig", "Vim Script", "Emacs Lisp", "F#",
	"Nix", "MATLAB", "TeX", "Julia", "Assembly", "GDScript", "HCL", "Astro",
}

var languageWeights = []int{
	140, 150, 110, 70, 90, 60, 40, 35, 30, 30, 25,
	30, 45, 35, 15, 12, 10, 12, 15, 15,
	25, 12, 6, 6, 4, 3, 3, 6,
	5, 8, 5, 4, 2, 2, 2, 2, 1,
	2, 2, 3, 1, 3, 2, 4, 3,
}

// licenses as GitHub embeds them in a repository; "" is a repository without one.
var licenses = []string{
	"",
	`{"key":"mit","name":"MIT License","spdx_id":"MIT","url":"https://api.github.com/licenses/mit","node_id":"MDc6TGljZW5zZTEz"}`,
	`{"key":"apache-2.0","name":"Apache License 2.0","spdx_id":"Apache-2.0","url":"https://api.github.com/licenses/apache-2.0","node_id":"MDc6TGljZW5zZTI="}`,
	`{"key":"gpl-3.0","name":"GNU General Public License v3.0","spdx_id":"GPL-3.0","url":"https://api.github.com/licenses/gpl-3.0","node_id":"MDc6TGljZW5zZTk="}`,
	`{"key":"gpl-2.0","name":"GNU General Public License v2.0","spdx_id":"GPL-2.0","url":"https://api.github.com/licenses/gpl-2.0","node_id":"MDc6TGljZW5zZTg="}`,
	`{"key":"lgpl-3.0","name":"GNU Lesser General Public License v3.0","spdx_id":"LGPL-3.0","url":"https://api.github.com/licenses/lgpl-3.0","node_id":"MDc6TGljZW5zZTEy"}`,
	`{"key":"bsd-3-clause","name":"BSD 3-Clause \"New\" or \"Revised\" License","spdx_id":"BSD-3-Clause","url":"https://api.github.com/licenses/bsd-3-clause","node_id":"MDc6TGljZW5zZTU="}`,
	`{"key":"bsd-2-clause","name":"BSD 2-Clause \"Simplified\" License","spdx_id":"BSD-2-Clause","url":"https://api.github.com/licenses/bsd-2-clause","node_id":"MDc6TGljZW5zZTQ="}`,
	`{"key":"mpl-2.0","name":"Mozilla Public License 2.0","spdx_id":"MPL-2.0","url":"https://api.github.com/licenses/mpl-2.0","node_id":"MDc6TGljZW5zZTE0"}`,
	`{"key":"unlicense","name":"The Unlicense","spdx_id":"Unlicense","url":"https://api.github.com/licenses/unlicense","node_id":"MDc6TGljZW5zZTE1"}`,
	`{"key":"agpl-3.0","name":"GNU Affero General Public License v3.0","spdx_id":"AGPL-3.0","url":"https://api.github.com/licenses/agpl-3.0","node_id":"MDc6TGljZW5zZTE="}`,
	`{"key":"cc0-1.0","name":"Creative Commons Zero v1.0 Universal","spdx_id":"CC0-1.0","url":"https://api.github.com/licenses/cc0-1.0","node_id":"MDc6TGljZW5zZTY="}`,
	`{"key":"isc","name":"ISC License","spdx_id":"ISC","url":"https://api.github.com/licenses/isc","node_id":"MDc6TGljZW5zZTEw"}`,
	`{"key":"other","name":"Other","spdx_id":"NOASSERTION","url":null,"node_id":"MDc6TGljZW5zZTA="}`,
}

var licenseWeights = []int{45, 25, 8, 6, 2, 1, 2, 1, 1, 2, 1, 1, 1, 4}

var branches = []string{"main", "master", "develop", "dev", "gh-pages"}

var branchWeights = []int{70, 24, 3, 2, 1}

var topicNames = []string{
	"python", "javascript", "react", "machine-learning", "deep-learning", "hacktoberfest", "nodejs",
	"docker", "api", "cli", "rust", "golang", "typescript", "game", "discord-bot", "portfolio",
	"nextjs", "tailwindcss", "llm", "chatgpt", "openai", "kubernetes", "homelab", "neovim",
	"dotfiles", "arduino", "esp32", "raspberry-pi", "data-science", "flutter", "android", "ios",
	"blockchain", "web3", "automation", "education", "university-project", "leetcode",
	"advent-of-code", "self-hosted",
}
