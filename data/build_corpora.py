#!/usr/bin/env python3
"""Builds the cusprun demo corpora from extracted Debian packages.

Called by build_corpora.sh (which downloads and extracts the packages); standard
library only. Everything is deterministic: inputs are read in sorted order, the
score/held-out split of a source unit is a hash of its key, and every sample is drawn
with a random.Random seeded from SEED and the corpus name.

Source units and the split:
  * a manual page is identified by "<section>/<name>" (e.g. "1/ls"), the same key in
    every language, so a page and its translations are all "score" or all "heldout";
  * a fortune is identified by its normalised text.
A unit is held out when sha256(SEED + key) falls in the lowest HELDOUT_FRACTION.
"""
import argparse
import concurrent.futures
import gzip
import hashlib
import json
import os
import random
import re
import subprocess
import unicodedata

SEED = "cusprun-corpora-v1"
HELDOUT_FRACTION = 0.2
MIN_CHARS, TARGET_CHARS, MAX_CHARS = 200, 700, 1500
LANGS = ["en", "de", "fr", "es", "it", "ru", "pl", "zh"]

MANPAGE_PACKAGES = {"en": "manpages", "de": "manpages-de", "fr": "manpages-fr",
                    "es": "manpages-es", "it": "manpages-it", "ru": "manpages-ru",
                    "pl": "manpages-pl", "zh": "manpages-zh"}
# The directory of a language's pages under usr/share/man (default: the language code).
# Chinese is the simplified-script translation; the traditional one (zh_TW) is not used.
MANPAGE_DIRS = {"en": "", "zh": "zh_CN"}
# fortunes-fr does not exist in Debian: no French literary source.
FORTUNE_PACKAGES = {"en": "fortunes-min", "de": "fortunes-de", "es": "fortunes-es",
                    "it": "fortunes-it", "ru": "fortunes-ru", "pl": "fortunes-pl", "zh": "fortunes-zh"}
# fortune files left out: pictures made of characters, banners, the offensive section
# (es/off/), a small draft file duplicated in varios.fortunes, and the Polish files of
# pictures (cows) and of jokes against groups of people or one politician.
FORTUNE_SKIP = re.compile(r"(^|/)(asciiart|banner|off/.*|varios\.fortunes-pre|cows|dowcipy-feministyczne"
                          r"|dowcipy-szowinistyczne|dowcipy-lepper|radio_maryja)$")

# Sections of a rendered page that are boilerplate rather than content.
DROP_SECTIONS = {
    "en": {"SEE ALSO", "COLOPHON", "AUTHOR", "AUTHORS", "REPORTING BUGS", "COPYRIGHT",
           "LICENSE", "AVAILABILITY"},
    "de": {"ÜBERSETZUNG", "SIEHE AUCH", "AUTOR", "AUTOREN", "FEHLER MELDEN", "COPYRIGHT",
           "VERFÜGBARKEIT", "KOLOPHON", "DANKSAGUNGEN", "WARENZEICHEN"},
    "fr": {"TRADUCTION", "VOIR AUSSI", "SIGNALER DES BOGUES", "AUTEUR", "AUTEURS",
           "COPYRIGHT", "DISPONIBILITÉ", "COLOPHON"},
    "es": {"TRADUCCIÓN", "VÉASE TAMBIÉN", "AUTOR", "AUTORES", "INFORMAR DE ERRORES",
           "COPYRIGHT", "MARCAS REGISTRADAS", "DISPONIBILIDAD", "COLOFÓN"},
    "it": {"TRADUZIONE", "VEDERE ANCHE", "AUTORE", "AUTORI", "SEGNALAZIONE BUG",
           "COPYRIGHT", "DISPONIBILITÀ", "COLOPHON"},
    "ru": {"ПЕРЕВОД", "СМ. ТАКЖЕ", "АВТОР", "АВТОРЫ", "ИНФОРМАЦИЯ ОБ ОШИБКАХ",
           "АВТОРСКИЕ ПРАВА", "COPYRIGHT"},
    "pl": {"TŁUMACZENIE", "ZOBACZ TAKŻE", "AUTOR", "AUTORZY", "ZGŁASZANIE BŁĘDÓW", "PRAWA AUTORSKIE",
           "COPYRIGHT", "DOSTĘPNOŚĆ", "ZNAKI TOWAROWE", "KOLOFON", "COLOPHON"},
    "zh": set(),
}
# The Chinese pages name their sections in many ways ("参见", "SEE ALSO 参见", "另见 (SEE ALSO)")
# and end with translators' sections ("跋", "[中文版维护人]", "《中国 Linux 论坛 man 手册页翻译计划》").
DROP_SECTION_WORDS = {
    "zh": re.compile(r"跋|维护人|最新更新|翻译|参见|另见|SEE ALSO|作者|AUTHOR|译者|版权|COPYRIGHT|报告错误"
                     r"|REPORTING BUGS|COLOPHON|^_+$"),
}
DESCRIPTION_HEADINGS = {"DESCRIPTION", "BESCHREIBUNG", "DESCRIPCIÓN", "DESCRIZIONE",
                        "ОПИСАНИЕ", "OPIS", "描述"}
SYNOPSIS_HEADINGS = {"SYNOPSIS", "ÜBERSICHT", "SINOPSIS", "SINTASSI", "СИНТАКСИС",
                     "SINTESI", "ОБЗОР", "SKŁADNIA", "概述", "总览"}
# Chinese sentence ends: a Chinese sentence is not followed by a space.
CJK_STOPS = "。！？；"

# Question templates per language and kind of page: (question, answer prefix).
# kind: "command" (sections 1, 6, 8), "function" (2, 3), "topic" (4, 5, 7).
QA_TEMPLATES = {
    "en": {"command": "Question: What does the command {name} do?",
           "function": "Question: What does the function {name} do?",
           "topic": "Question: What is the manual page {name}({section}) about?",
           "answer": "Answer:"},
    "de": {"command": "Frage: Was macht der Befehl {name}?",
           "function": "Frage: Was macht die Funktion {name}?",
           "topic": "Frage: Worum geht es in der Handbuchseite {name}({section})?",
           "answer": "Antwort:"},
    "fr": {"command": "Question : Que fait la commande {name} ?",
           "function": "Question : Que fait la fonction {name} ?",
           "topic": "Question : De quoi traite la page de manuel {name}({section}) ?",
           "answer": "Réponse :"},
    "es": {"command": "Pregunta: ¿Qué hace la orden {name}?",
           "function": "Pregunta: ¿Qué hace la función {name}?",
           "topic": "Pregunta: ¿De qué trata la página de manual {name}({section})?",
           "answer": "Respuesta:"},
    "it": {"command": "Domanda: Che cosa fa il comando {name}?",
           "function": "Domanda: Che cosa fa la funzione {name}?",
           "topic": "Domanda: Di che cosa tratta la pagina di manuale {name}({section})?",
           "answer": "Risposta:"},
    "ru": {"command": "Вопрос: Что делает команда {name}?",
           "function": "Вопрос: Что делает функция {name}?",
           "topic": "Вопрос: О чём страница руководства {name}({section})?",
           "answer": "Ответ:"},
    "pl": {"command": "Pytanie: Co robi polecenie {name}?",
           "function": "Pytanie: Co robi funkcja {name}?",
           "topic": "Pytanie: Czego dotyczy strona podręcznika {name}({section})?",
           "answer": "Odpowiedź:"},
    "zh": {"command": "问题：命令 {name} 的作用是什么？",
           "function": "问题：函数 {name} 的作用是什么？",
           "topic": "问题：手册页 {name}({section}) 讲的是什么？",
           "answer": "回答：", "stop": "。"},
}

# Documents per corpus: (score, heldout).
SIZES = {
    "language": (320, 80),
    "domain": (400, 100),
    "continuation": (320, 80),
    "qa": (600, 150),
    "general": (400, 100),
}
EVAL_GENERAL_PER_CELL = 12
# The training corpus also takes up to this many technical documents of every score page
# (the corpora above take at most two per page).
TRAIN_CHUNKS_PER_PAGE = 4
MC_CHOICES = 4


# ---------------------------------------------------------------- helpers

def heading_in(heading, names):
    """Whether a section heading is one of names; a Chinese heading may carry its English
    name too ("描述 DESCRIPTION", "总览 (SYNOPSIS)"), which is ignored."""
    h = heading.upper()
    return h in names or re.sub(r"[\sA-Z()（）]", "", h) in names


def sha(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def split_of(key):
    """'heldout' for the lowest HELDOUT_FRACTION of hash values, else 'score'."""
    v = int(sha(SEED + "|" + key)[:8], 16) / 0x100000000
    return "heldout" if v < HELDOUT_FRACTION else "score"


def rng_for(*parts):
    return random.Random(sha(SEED + "|" + "|".join(parts)))


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2212": "-", "\u00ad": None})


MOJIBAKE = re.compile("[\u00c2-\u00df][\u0080-\u00bf]")


def fix_mojibake(m):
    """UTF-8 read as Latin-1 in a few sources ("altresÃ¬", "Â«"): repair letters,
    punctuation and symbols only, so that character tables stay as they are."""
    c = m.group(0).encode("latin-1").decode("utf-8")
    return c if unicodedata.category(c)[0] in "LPS" else m.group(0)


def clean_line(line):
    line = MOJIBAKE.sub(fix_mojibake, ANSI.sub("", line))
    while "\x08" in line:  # overstrike: "x\bx" (bold) and "_\bx" (underline) keep the last
        new = re.sub(r"[^\x08]\x08", "", line)
        if new == line:
            line = line.replace("\x08", "")
            break
        line = new
    line = CONTROL.sub("", line.expandtabs(8)).translate(HYPHENS)
    line = re.sub(r" {2,}", "  ", line.strip())
    return unicodedata.normalize("NFC", line)


def norm_para(text):
    return " ".join(text.split()).lower()


def letter_ratio(text):
    chars = [c for c in text if not c.isspace()]
    return sum(c.isalpha() for c in chars) / len(chars) if chars else 0.0


def split_long(unit):
    """Pieces of at most MAX_CHARS: by lines, then by sentences, then hard cuts."""
    if len(unit) <= MAX_CHARS:
        return [unit]
    pieces = []
    sentences = r"(?<=[.!?;:]) |(?<=[" + CJK_STOPS + "])"
    for part in re.split(r"(?<=\n)", unit) if "\n" in unit else re.split(sentences, unit):
        part = part.strip()
        if not part:
            continue
        if len(part) > MAX_CHARS:
            if part == unit:  # no separator helped: hard cut at spaces
                words, cur = part.split(" "), ""
                for w in words:
                    if cur and len(cur) + 1 + len(w) > MAX_CHARS:
                        pieces.append(cur)
                        cur = w
                    else:
                        cur = (cur + " " + w) if cur else w
                if cur:
                    pieces.append(cur[:MAX_CHARS])
            else:
                pieces.extend(split_long(part))
        else:
            pieces.append(part)
    return pieces


def chunk(units, sep="\n\n"):
    """Groups consecutive text units into documents of MIN..MAX chars (aim: TARGET)."""
    docs, cur = [], ""
    for unit in units:
        for piece in split_long(unit):
            if cur and (len(cur) + len(sep) + len(piece) > MAX_CHARS or len(cur) >= TARGET_CHARS):
                if len(cur) >= MIN_CHARS:
                    docs.append(cur)
                    cur = piece
                else:
                    cur = (cur + sep + piece) if len(cur) + len(sep) + len(piece) <= MAX_CHARS else piece
            else:
                cur = (cur + sep + piece) if cur else piece
    if len(cur) >= MIN_CHARS:
        docs.append(cur)
    elif cur and docs and len(docs[-1]) + len(sep) + len(cur) <= MAX_CHARS:
        docs[-1] = docs[-1] + sep + cur
    return docs


# ---------------------------------------------------------------- manual pages

GROFF = ["groff", "-K", "utf8", "-Tutf8", "-mandoc", "-rLL=5000n", "-rHY=0", "-dAD=l",
         "-P-cbou"]


def render(raw):
    env = {"LC_ALL": "C.UTF-8", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    out = subprocess.run(GROFF, input=raw, capture_output=True, env=env).stdout
    out = subprocess.run(["col", "-bx"], input=out, capture_output=True, env=env).stdout
    return out.decode("utf-8", "replace")


def find_manpages(root, lang):
    pkg = MANPAGE_PACKAGES[lang]
    sub = MANPAGE_DIRS.get(lang, lang)
    base = os.path.join(root, pkg, "usr/share/man") + ("/" + sub if sub else "")
    pages = []
    for sec_dir in sorted(os.listdir(base)):
        m = re.fullmatch(r"man(\d)", sec_dir)
        if not m:
            continue
        for fn in sorted(os.listdir(os.path.join(base, sec_dir))):
            path = os.path.join(base, sec_dir, fn)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            stem = fn[:-3] if fn.endswith(".gz") else fn
            nm = re.fullmatch(r"(.+)\.(" + m.group(1) + r"[a-z]*)", stem)
            if not nm:
                continue
            raw = gzip.open(path).read() if fn.endswith(".gz") else open(path, "rb").read()
            if raw.lstrip().startswith(b".so "):
                continue  # alias of another page
            pages.append({"lang": lang, "section": m.group(1), "name": nm.group(1),
                          "key": m.group(1) + "/" + nm.group(1), "raw": raw})
    return pages


def parse_page(text, lang):
    """Rendered page -> list of (heading, [paragraph]) without header/footer/boilerplate."""
    lines = text.split("\n")
    nonblank = [i for i, l in enumerate(lines) if l.strip()]
    if len(nonblank) < 3:
        return []
    lines = lines[nonblank[0] + 1:nonblank[-1]]  # drop the running header and footer
    sections, heading, para, paras = [], None, [], []

    def flush_para():
        if para:
            paras.append("\n".join(para))
            para.clear()

    for line in lines:
        if line.strip() and not line[0].isspace():  # a section heading
            flush_para()
            if heading is not None:
                sections.append((heading, list(paras)))
            heading, paras = clean_line(line), []
        elif not line.strip():
            flush_para()
        else:
            cl = clean_line(line)
            if cl:
                para.append(cl)
    flush_para()
    if heading is not None:
        sections.append((heading, paras))
    drop, words = DROP_SECTIONS[lang], DROP_SECTION_WORDS.get(lang)
    return [(h, p) for h, p in sections
            if h.upper() not in drop and not (words and words.search(h.upper())) and p]


NAME_LINE = re.compile(r"^(.+?)\s+(?:-|–|—|\\-)+\s+(.+)$")


def name_line(page, sections):
    if not sections:
        return None
    first = " ".join(sections[0][1][:1]).replace("\n", " ")
    m = NAME_LINE.match(first)
    if not m:
        return None
    names = [n.strip() for n in m.group(1).split(",") if n.strip()]
    desc = m.group(2).strip().rstrip(".").strip()
    if not names or not desc or len(desc) < 8:
        return None
    name = page["name"] if page["name"] in names else names[0]
    shown = ", ".join(names) if len(", ".join(names)) <= 60 else name
    return {"name": name, "names": shown, "desc": desc}


def is_prose(par):
    # Chinese has no spaces: count its wide characters as words of about two characters each
    words = len(par.split()) + sum(unicodedata.east_asian_width(c) == "W" for c in par) // 2
    return (len(par) >= 120 and letter_ratio(par) >= 0.75 and par.rstrip()[-1:] in ".!?:;»\")" + CJK_STOPS
            and words >= 15 and "\n" not in par.strip())


def first_sentences(text, limit):
    """Leading whole sentences of text up to about limit chars (at least one sentence)."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+|(?<=[" + CJK_STOPS + r"])\s*", text.replace("\n", " ")) if p]
    out = ""
    for p in parts:
        if out and len(out) + 1 + len(p) > limit:
            break
        out = (out + ("" if out[-1] in CJK_STOPS else " ") + p) if out else p
    return out[:MAX_CHARS - 200]


def page_documents(page, sections):
    """Technical documents, prose documents and the QA document of one page."""
    lang = page["lang"]
    units = []
    for h, paras in sections:
        units.append(h + "\n" + paras[0])
        units.extend(paras[1:])
    tech = chunk(units)
    prose_units = [p for h, paras in sections if not heading_in(h, SYNOPSIS_HEADINGS)
                   for p in paras if is_prose(p)]
    prose = chunk(prose_units)
    qa = None
    nl = name_line(page, sections)
    if nl:
        sec = page["section"]
        kind = "command" if sec in "168" else "function" if sec in "23" else "topic"
        tpl = QA_TEMPLATES[lang]
        question = tpl[kind].format(name=nl["name"], section=sec)
        answer = f"{tpl['answer']} {nl['names']} – {nl['desc']}{tpl.get('stop', '.')}"
        desc_paras = next((p for h, p in sections if heading_in(h, DESCRIPTION_HEADINGS)), None)
        if desc_paras is None:
            desc_paras = next((p for h, p in sections[1:] if not heading_in(h, SYNOPSIS_HEADINGS)), [])
        elab = ""
        for p in desc_paras:
            if letter_ratio(p) < 0.6 or "\n" in p:  # skip option lists, code, tables
                continue
            add = first_sentences(p, 700 - len(elab))
            elab = (elab + " " + add).strip() if elab else add
            if len(question) + len(answer) + len(elab) >= MIN_CHARS + 150:
                break
        text = question + "\n" + answer + (" " + elab if elab else "")
        if len(text) >= MIN_CHARS and len(text) <= MAX_CHARS:
            qa = text
        nl = dict(nl, kind=kind, question=question, answer_prefix=tpl["answer"])
    return tech, prose, qa, nl


# ---------------------------------------------------------------- fortunes

def find_fortune_files(root, lang):
    base = os.path.join(root, FORTUNE_PACKAGES[lang], "usr/share/games")
    files = []
    for dp, dns, fns in os.walk(base):
        dns.sort()
        for fn in sorted(fns):
            path = os.path.join(dp, fn)
            rel = os.path.relpath(path, base)
            if (os.path.islink(path) or fn.endswith((".dat", ".u8")) or FORTUNE_SKIP.search(rel)):
                continue
            files.append((rel, path))
    return sorted(files)


def fortune_entries(path):
    text = open(path, "rb").read().decode("utf-8", "replace")
    entries = []
    for raw in re.split(r"\n%\n", text.replace("\r\n", "\n")):
        lines = [clean_line(l) for l in raw.split("\n")]
        body = "\n".join(lines).strip()
        body = re.sub(r"\n{3,}", "\n\n", body)
        if len(body) >= 20 and letter_ratio(body) >= 0.6:
            entries.append(body)
    return entries


# ---------------------------------------------------------------- sampling and output

def shuffle_pools(pools):
    """Shuffles every pool once, with a seed of its own name: corpora drawing from the
    same pool take the same documents first, so they overlap and their union (the
    training corpus) stays small."""
    for name, pool in sorted(pools.items()):
        for split in ("score", "heldout"):
            pool[split].sort(key=lambda d: d["source"])
            rng_for("pool", name, split).shuffle(pool[split])


def take(pools, n):
    """Round-robin over (pre-shuffled) pools, up to n documents, no repeats."""
    pools = [list(p) for p in pools]
    out, seen, i = [], set(), 0
    while len(out) < n and any(pools):
        p = pools[i % len(pools)]
        i += 1
        while p:
            doc = p.pop(0)
            if doc["text"] not in seen:
                seen.add(doc["text"])
                out.append(doc)
                break
    return out


def write_jsonl(path, docs, fields=("text", "source")):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for d in docs:
            f.write(json.dumps({k: d[k] for k in fields if k in d}, ensure_ascii=False) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--packages", required=True)
    ap.add_argument("--groff-version", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    # ---- manual pages
    pages = [p for lang in LANGS for p in find_manpages(args.root, lang)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        rendered = list(ex.map(lambda p: render(p["raw"]), pages))

    man = {lang: {"score": [], "heldout": []} for lang in LANGS}        # technical docs
    prose = {(lang, src): {"score": [], "heldout": []} for lang in LANGS for src in ("man", "fortune")}
    qa = {lang: {"score": [], "heldout": []} for lang in LANGS}
    names = {lang: {"score": [], "heldout": []} for lang in LANGS}
    page_counts = {lang: 0 for lang in LANGS}
    train_extra = []  # further technical documents of score pages, for the training corpus only
    parsed = []
    for page, text in zip(pages, rendered):
        sections = parse_page(text, page["lang"])
        if sections:
            parsed.append((page, sections, split_of("man:" + page["key"])))
    # Near-identical pages (dir/vdir/ls, sha256sum/sha512sum, the mtools family, ...)
    # share paragraphs: held-out pages keep only paragraphs that no score page has, and
    # a held-out NAME description that a score page also has is not used.
    score_paras = {norm_para(p) for page, sections, split in parsed if split == "score"
                   for h, paras in sections for p in paras}
    score_descs = set()
    for page, sections, split in parsed:
        nl = name_line(page, sections) if split == "score" else None
        if nl:
            score_descs.add((page["lang"], nl["desc"].lower()))
    for page, sections, split in parsed:
        lang, key = page["lang"], page["key"]
        if split == "heldout":
            sections = [(h, kept) for h, paras in sections
                        for kept in [[p for p in paras if norm_para(p) not in score_paras]] if kept]
            if not sections:
                continue
        page_counts[lang] += 1
        src = f"{MANPAGE_PACKAGES[lang]}:{key}"
        tech, prose_docs, qa_doc, nl = page_documents(page, sections)
        if split == "heldout" and nl and (lang, nl["desc"].lower()) in score_descs:
            qa_doc, nl = None, None
        # at most two documents per page: its beginning and one other part, so long
        # pages (bash, groff, ...) do not crowd out the rest
        if tech:
            picked = [0]
            if len(tech) > 1:
                picked.append(rng_for("page", lang, key).randrange(1, len(tech)))
            for i in picked:
                man[lang][split].append({"text": tech[i], "source": f"{src}#{i}"})
            if split == "score":
                rest = [i for i in range(len(tech)) if i not in picked]
                rng_for("train", lang, key).shuffle(rest)
                for i in sorted(rest[:max(0, TRAIN_CHUNKS_PER_PAGE - len(picked))]):
                    train_extra.append({"text": tech[i], "source": f"{src}#{i}"})
        if prose_docs:
            i = rng_for("prose", lang, key).randrange(len(prose_docs))
            prose[(lang, "man")][split].append({"text": prose_docs[i], "source": f"{src}#p{i}"})
        if qa_doc:
            qa[lang][split].append({"text": qa_doc, "source": src})
        if nl:
            names[lang][split].append(dict(nl, source=src, section=page["section"]))

    # ---- fortunes
    literary = {lang: {"score": [], "heldout": []} for lang in LANGS}
    fortune_counts = {}
    for lang in LANGS:
        if lang not in FORTUNE_PACKAGES:
            continue
        seen, n_entries, files = set(), 0, []
        for rel, path in find_fortune_files(args.root, lang):
            groups = {"score": [], "heldout": []}
            for e in fortune_entries(path):
                norm = norm_para(e)
                if norm in seen:
                    continue
                seen.add(norm)
                n_entries += 1
                groups[split_of(f"fortune:{lang}:{norm}")].append(e)
            files.append((rel, groups))
        # a held-out fortune sharing a paragraph with a score fortune is not used
        score_paras = {norm_para(p) for rel, g in files for e in g["score"] for p in e.split("\n\n")}
        for rel, groups in files:
            groups["heldout"] = [e for e in groups["heldout"]
                                 if not any(norm_para(p) in score_paras for p in e.split("\n\n"))]
            for split, entries in groups.items():
                src = f"{FORTUNE_PACKAGES[lang]}:{rel}"
                for i, d in enumerate(chunk(entries)):
                    literary[lang][split].append({"text": d, "source": f"{src}#{split[0]}{i}"})
                prose_entries = [e for e in entries if letter_ratio(e) >= 0.75 and len(e.split()) >= 8]
                for i, d in enumerate(chunk(prose_entries)):
                    prose[(lang, "fortune")][split].append({"text": d, "source": f"{src}#{split[0]}p{i}"})
        fortune_counts[lang] = n_entries

    # ---- corpora
    shuffle_pools({f"man:{l}": man[l] for l in LANGS} | {f"literary:{l}": literary[l] for l in LANGS}
                  | {f"prose:{l}:{s}": prose[(l, s)] for l, s in prose} | {f"qa:{l}": qa[l] for l in LANGS})
    out = args.out
    corpora = []  # (dimension, name, pools)
    for lang in LANGS:
        pools = [man[lang]] + ([literary[lang]] if lang in FORTUNE_PACKAGES else [])
        corpora.append(("language", lang, pools, SIZES["language"]))
    corpora.append(("domain", "technical", [man[l] for l in LANGS], SIZES["domain"]))
    corpora.append(("domain", "literary", [literary[l] for l in LANGS if l in FORTUNE_PACKAGES], SIZES["domain"]))
    corpora.append(("task", "continuation", [prose[k] for k in sorted(prose)], SIZES["continuation"]))
    corpora.append(("task", "qa", [qa[l] for l in LANGS], SIZES["qa"]))
    corpora.append(("general", "general",
                    [man[l] for l in LANGS] + [literary[l] for l in LANGS if l in FORTUNE_PACKAGES],
                    SIZES["general"]))

    index = {"seed": SEED, "heldout_fraction": HELDOUT_FRACTION, "corpora": [], "eval": [], "train": None}
    train = {}
    for dim, name, pools, (n_score, n_heldout) in corpora:
        rel = f"{dim}/{name}" if dim != "general" else "general"
        entry = {"dimension": dim, "name": name}
        for split, n in (("score", n_score), ("heldout", n_heldout)):
            docs = take([p[split] for p in pools], n)
            write_jsonl(os.path.join(out, rel, split + ".jsonl"), docs)
            entry[split] = {"path": f"{rel}/{split}.jsonl", "documents": len(docs),
                            "chars": sum(len(d["text"]) for d in docs)}
            if split == "score":
                for d in docs:
                    train.setdefault(d["text"], d)
        index["corpora"].append(entry)

    # ---- evaluation files (all from held-out source units)
    ev = []
    expert = sorted(qa["de"]["heldout"], key=lambda d: d["source"])
    write_jsonl(os.path.join(out, "eval/expert_de_technical_qa.jsonl"), expert)
    ev.append({"name": "expert_de_technical_qa", "kind": "perplexity",
               "path": "eval/expert_de_technical_qa.jsonl", "documents": len(expert),
               "chars": sum(len(d["text"]) for d in expert),
               "what": "German technical question/answer texts from held-out manual pages"})
    cells = [man[l] for l in LANGS] + [literary[l] for l in LANGS if l in FORTUNE_PACKAGES]
    general_ids = {d["text"] for d in open_jsonl_texts(os.path.join(out, "general/heldout.jsonl"))}
    gen = []
    for cell in cells:
        gen.extend([d for d in cell["heldout"] if d["text"] not in general_ids][:EVAL_GENERAL_PER_CELL])
    write_jsonl(os.path.join(out, "eval/general.jsonl"), gen)
    ev.append({"name": "general", "kind": "perplexity", "path": "eval/general.jsonl",
               "documents": len(gen), "chars": sum(len(d["text"]) for d in gen),
               "what": "held-out documents, every language x domain cell, disjoint from general/heldout.jsonl"})
    mc = build_mc(names["de"]["heldout"])
    write_mc(out, ev, "mc_de_commands", mc,
             "German: which description belongs to this manual page? 4 choices, from held-out NAME lines")
    for name, langs, what in (
            ("mc_de_continuation", ["de"], "German manual pages: which text continues this passage? 4 choices, "
             "the true next words and the words at the same place of 3 other held-out pages"),
            ("mc_general_continuation", LANGS, "every language x domain cell: which text continues this passage? "
             "4 choices, the true next words and those of 3 other held-out documents of the same cell")):
        items = []
        for lang in langs:
            limit = 150 if len(langs) == 1 else 16
            items += build_continuation_mc(f"{name}:{lang}:man", man[lang]["heldout"], limit)
            if len(langs) > 1 and lang in FORTUNE_PACKAGES:
                items += build_continuation_mc(f"{name}:{lang}:fortune", literary[lang]["heldout"], limit)
        write_mc(out, ev, name, items, what)
    for name, langs, what in (
            ("mc_de_recall", ["de"], "German manual pages: which word comes next? The right one, the page's "
             "name, occurred earlier in the passage; 3 others are names of other held-out pages, absent from it"),
            ("mc_general_recall", LANGS, "every language x domain cell: which word comes next? The right one "
             "occurred earlier in the passage; 3 others are words of other held-out documents of the cell")):
        items = []
        for lang in langs:
            limit = 150 if len(langs) == 1 else 16
            items += build_recall_mc(f"{name}:{lang}:man", man[lang]["heldout"], limit)
            if len(langs) > 1 and lang in FORTUNE_PACKAGES:
                items += build_recall_mc(f"{name}:{lang}:fortune", literary[lang]["heldout"], limit)
        write_mc(out, ev, name, items, what)
    items = build_language_mc("mc_language_continuation:man", [(l, man[l]["heldout"]) for l in LANGS], 25)
    items += build_language_mc("mc_language_continuation:fortune",
                               [(l, literary[l]["heldout"]) for l in LANGS if l in FORTUNE_PACKAGES], 25)
    write_mc(out, ev, "mc_language_continuation", items,
             "every language x domain cell: which text continues this passage? 4 choices, the true next "
             "words and the words at the same place of documents in 3 other languages of the domain")
    # the expert's (German) items of the set above: the demo's multiple choice
    de_items = [it for it in items if it["source"].startswith(("manpages-de:", "fortunes-de:"))]
    write_mc(out, ev, "mc_de_language_continuation", de_items,
             "the German items of mc_language_continuation (manual pages and fortunes): which text "
             "continues this German passage? The true next words, or words of 3 other languages")
    index["eval"] = ev

    # ---- training corpus for the demo model: the score splits, plus the other documents of
    # score manual pages (every score page's QA document and up to TRAIN_CHUNKS_PER_PAGE
    # technical documents); nothing held out. Fortunes beyond the score splits are left out
    # so that technical text is not outweighed by fortunes (there are many more of those).
    score_side = [d for l in LANGS for d in man[l]["score"] + qa[l]["score"]] + train_extra
    for d in sorted(score_side, key=lambda d: d["source"]):
        train.setdefault(d["text"], d)
    tr = sorted(train.values(), key=lambda d: sha(d["text"]))
    write_jsonl(os.path.join(out, "train/train.jsonl"), tr)
    with open(os.path.join(out, "train/README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(TRAIN_README)
    index["train"] = {"path": "train/train.jsonl", "documents": len(tr),
                      "chars": sum(len(d["text"]) for d in tr)}

    index["sources"] = {"manual_pages": page_counts, "fortune_entries": fortune_counts}
    index["packages"] = [dict(zip(("name", "version", "sha256"), l.rstrip("\n").split("\t")))
                         for l in open(args.packages, encoding="utf-8") if l.strip()]
    index["groff"] = open(args.groff_version, encoding="utf-8").read().strip()
    with open(os.path.join(out, "index.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(index, f, ensure_ascii=False, indent=2)
        f.write("\n")
    write_sources(out, index)


def open_jsonl_texts(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def write_mc(out, ev, name, items, what):
    """Writes eval/<name>.jsonl (one item per line) and its entry of the index's eval list."""
    path = f"eval/{name}.jsonl"
    with open(os.path.join(out, path), "w", encoding="utf-8", newline="\n") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    ev.append({"name": name, "kind": "multiple_choice", "path": path, "documents": len(items), "what": what})


def build_mc(items):
    """Multiple choice over held-out NAME lines: the right description and 3 others."""
    items = sorted(items, key=lambda d: d["source"])
    by_desc = {}
    for it in items:
        by_desc.setdefault(it["desc"], it)
    uniq = sorted(by_desc.values(), key=lambda d: d["source"])
    rng = rng_for("eval", "mc")
    out = []
    for it in uniq:
        same_kind = [o for o in uniq if o is not it and o["kind"] == it["kind"]]
        pool = same_kind if len(same_kind) >= MC_CHOICES - 1 else [o for o in uniq if o is not it]
        distractors = [o["desc"] for o in rng.sample(pool, MC_CHOICES - 1)]
        answer = rng.randrange(MC_CHOICES)
        choices = distractors[:answer] + [it["desc"]] + distractors[answer:]
        context = f"{it['question']}\n{it['answer_prefix']} {it['names']} –"
        out.append({"context": context, "choices": [" " + c + "." for c in choices],
                    "answer": answer, "source": it["source"]})
    return out


MC_CONTEXT_CHARS, MC_CONTINUATION_CHARS = 300, 80


def cut_at_space(text, start, limit):
    """text[start:start+limit] cut back to its last space (at least half of limit kept)."""
    piece = text[start:start + limit]
    i = piece.rfind(" ")
    return piece[:i] if i >= limit // 2 else piece


def build_continuation_mc(name, docs, limit):
    """Continuation choice over held-out documents of one cell: the context is the start of
    a document (cut at a space), the right choice its next words, the 3 others the words at
    the same place of other documents of the cell. Up to limit items."""
    usable = []
    for d in sorted(docs, key=lambda d: d["source"]):
        text = d["text"]
        if len(text) < MC_CONTEXT_CHARS + MC_CONTINUATION_CHARS + 20:
            continue
        context = cut_at_space(text, 0, MC_CONTEXT_CHARS)
        cont = cut_at_space(text, len(context), MC_CONTINUATION_CHARS + 1)
        if cont.startswith(" ") and len(cont.strip()) >= 20:
            usable.append((d, context, cont))
    rng = rng_for("eval", name)
    rng.shuffle(usable)
    out = []
    for d, context, cont in usable[:limit]:
        others = [c for o, _, c in usable if o is not d and c != cont]
        if len(others) < MC_CHOICES - 1:
            break
        distractors = rng.sample(others, MC_CHOICES - 1)
        answer = rng.randrange(MC_CHOICES)
        choices = distractors[:answer] + [cont] + distractors[answer:]
        if len(set(choices)) == MC_CHOICES:
            out.append({"context": context, "choices": choices, "answer": answer, "source": d["source"]})
    return out


def continuation_pieces(docs):
    """(doc, context, continuation) of the documents long enough for a continuation item."""
    usable = []
    for d in sorted(docs, key=lambda d: d["source"]):
        text = d["text"]
        if len(text) < MC_CONTEXT_CHARS + MC_CONTINUATION_CHARS + 20:
            continue
        context = cut_at_space(text, 0, MC_CONTEXT_CHARS)
        cont = cut_at_space(text, len(context), MC_CONTINUATION_CHARS + 1)
        if cont.startswith(" ") and len(cont.strip()) >= 20:
            usable.append((d, context, cont))
    return usable


def build_language_mc(name, cells, limit):
    """Continuation across languages: for each (language, held-out documents) cell, up to limit
    items whose context is the start of a document, the right choice its next words and the 3
    others the words at the same place of documents in 3 other languages of the same domain."""
    pieces = {lang: continuation_pieces(docs) for lang, docs in cells}
    out = []
    for lang, _ in cells:
        others = [l for l, _ in cells if l != lang and pieces[l]]
        if len(others) < MC_CHOICES - 1:
            continue
        rng = rng_for("eval", name, lang)
        usable = list(pieces[lang])
        rng.shuffle(usable)
        for d, context, cont in usable[:limit]:
            distractors = [rng.choice(pieces[l])[2] for l in rng.sample(others, MC_CHOICES - 1)]
            answer = rng.randrange(MC_CHOICES)
            choices = distractors[:answer] + [cont] + distractors[answer:]
            if len(set(choices)) == MC_CHOICES:
                out.append({"context": context, "choices": choices, "answer": answer, "source": d["source"]})
    return out


RECALL_WORD = re.compile(r"[^\W\d_][\w-]*[^\W_]", re.UNICODE)
RECALL_MIN_LETTERS, RECALL_MIN_START, RECALL_MAX_START = 8, 80, 1200


def recall_target(text, name=None):
    """(context, word): the first occurrence, starting after a space between RECALL_MIN_START and
    RECALL_MAX_START, of a word that already occurs earlier in the text, the context being the text
    before that space. The word is the page's name for a manual page (rare in general text, so only
    its earlier occurrence makes it likely), otherwise any word of RECALL_MIN_LETTERS+ characters."""
    for m in RECALL_WORD.finditer(text):
        w, i = m.group(0), m.start()
        if i > RECALL_MAX_START:
            break
        if i < RECALL_MIN_START or text[i - 1] != " " or (w != name if name else len(w) < RECALL_MIN_LETTERS):
            continue
        if i + len(w) < len(text) and (text[i + len(w)].isalnum() or text[i + len(w)] in "-_"):
            continue
        if re.search(r"(?<![\w-])" + re.escape(w) + r"(?![\w-])", text[:i - 1]):
            return text[:i - 1], w
    return None


def build_recall_mc(name, docs, limit):
    """Recall over held-out documents of one cell: the context is a document up to a word that
    already occurred in it (for manual pages, the page's name), the right choice that word, the 3
    others the words of other documents of the cell that do not occur in this context. Up to limit
    items."""
    usable = []
    for d in sorted(docs, key=lambda d: d["source"]):
        page = re.fullmatch(r"manpages[^:]*:\d/([^#]+)#\d+", d["source"])
        t = recall_target(d["text"], page.group(1) if page else None)
        if t:
            usable.append((d, t[0], t[1]))
    rng = rng_for("eval", name)
    rng.shuffle(usable)
    out = []
    for d, context, word in usable[:limit]:
        others = sorted({w for o, _, w in usable if o is not d and w != word and w not in context})
        if len(others) < MC_CHOICES - 1:
            continue
        distractors = rng.sample(others, MC_CHOICES - 1)
        answer = rng.randrange(MC_CHOICES)
        choices = distractors[:answer] + [word] + distractors[answer:]
        out.append({"context": context, "choices": [" " + c for c in choices], "answer": answer,
                    "source": d["source"]})
    return out


TRAIN_README = """# Training corpus of the demo model

`train.jsonl` (one JSON object per line, fields `text` and `source`) holds, with duplicates
removed and lines ordered by the SHA-256 of their text:
- the union of the **score** splits of every corpus in this directory (language, domain,
  task and general);
- the other documents of the score-side manual pages, which the corpora leave out (they
  take at most two documents per page): every score page's question/answer document and
  up to four technical documents per page. Fortunes beyond the score splits are not added,
  so that technical text is not outweighed by them.

What the demo model may see:
- everything in `train.jsonl`, i.e. any `*/score.jsonl` document and more text of the
  same score pages;
- nothing from a `heldout.jsonl` split or from `eval/`: those come from manual pages
  (keyed by section/name, in every language at once) and fortunes (keyed by their
  text) that are held out as a whole, so no held-out page or fortune, nor a
  translation of a held-out page, is in the training data.

The score splits are also what cusprun scores relevance on, so the demo model has
seen its scoring corpora during training; the evaluation sets are unseen text.
"""

LICENCES = [
    ("manpages", "Linux man-pages project (Michael Kerrisk, Alejandro Colomar and many "
     "authors). Default licence GPL-2+; individual pages are under Linux-man-pages-copyleft "
     "(verbatim and modified copies allowed if the permission notice is kept; formatted "
     "versions without the source must acknowledge the copyright and authors), BSD-2/3/4-clause, "
     "Expat, GPL-1+/GPL-2 (per-file list in the package's copyright file)."),
    ("manpages-de, -fr, -es, -it, -ru, -pl", "manpages-l10n project: the translations are GPL-3+ "
     "(copyright of the individual translators, listed per .po file). The translated pages "
     "are derived from the original upstream pages (man-pages, coreutils, util-linux, "
     "systemd, procps, ...), whose own licences also apply; the copyright file does not "
     "list them."),
    ("fortunes-min", "fortune-mod (BSD 3-clause for the program, Regents of the University "
     "of California). The quotations themselves carry no licence statement; `literature` "
     "holds excerpts of published books."),
    ("fortunes-de", "Collection by Andreas Tille and contributors, GPL-2+ (or the "
     "GPL-Deutsch translation). Quotations are by their named authors."),
    ("fortunes-es", "GPL-2+ for the packaging and tools; the fortunes are \"presumed to be "
     "in the public domain\" (collected from \"Frases y Proverbios\" by Roly Canteros, with "
     "consent, and from Urko Lusa's `chorrada`). The offensive section (`off/`) is not used."),
    ("fortunes-it", "fortune-it: the collectors declare the files not copyrighted, "
     "\"freeware (public domain)\", free to copy, modify and redistribute."),
    ("fortunes-ru", "fortune-mod-ru by Pavel Maryanov and others: GPL-2."),
    ("manpages-zh", "Chinese Man Pages project (Yu Guanghui, LI Daobing and contributors): the "
     "translations are GFDL-1.2+ or GPL-2+ per file, as listed in the package's copyright file; "
     "the pages are derived from the original upstream pages, whose own licences also apply."),
    ("fortunes-pl", "LinuxPL and PLD teams' collection, GPL-2+. Quotations are by their named "
     "authors. Pictures (`cows`) and the files of jokes against groups of people or one "
     "politician are not used."),
    ("fortunes-zh", "Tang and Song poems and Debian's code of conduct in Chinese, collected by "
     "the Debian Chinese team: GPL-3+."),
]


def write_sources(out, index):
    L = []
    w = L.append
    w("# Demo corpora: sources, licences, contents\n")
    w("Generated by `data/build_corpora.py`; do not edit by hand. Rebuild (Debian 12 "
      "with bookworm apt sources, groff, col, python3):\n")
    w("```\nbash data/build_corpora.sh\n```\n")
    w("The rebuild is byte-identical for the pinned package versions below and the same "
      "groff version (man pages are rendered with `groff -K utf8 -Tutf8 -mandoc -rLL=5000n "
      "-rHY=0 -dAD=l -P-cbou | col -bx`, then the running header/footer and boilerplate "
      "sections such as SEE ALSO, AUTHORS, REPORTING BUGS, COPYRIGHT and the translators' "
      "section are dropped).\n")
    w("## Packages\n")
    w("| package | version | sha256 of the .deb |\n|---|---|---|")
    for p in index["packages"]:
        w(f"| {p['name']} | {p['version']} | `{p['sha256']}` |")
    w(f"\nRenderer: {index['groff']}.\n")
    w("There is no `fortunes-fr` in Debian: French text comes from `manpages-fr` only, so "
      "the literary domain has no French documents. Chinese is `manpages-zh`'s simplified-script "
      "pages (`zh_CN`; the traditional-script `zh_TW` pages are not used) and `fortunes-zh`. "
      "Fortune files left out: "
      "`de/asciiart`, `it/banner`, the offensive section `es/off/`, `es/varios.fortunes-pre`, "
      "`pl/cows`, `pl/dowcipy-feministyczne`, `pl/dowcipy-szowinistyczne`, `pl/dowcipy-lepper`, "
      "`pl/radio_maryja`; entries that are mostly non-letters are dropped, duplicates removed.\n")
    w("Chinese writes no spaces between words, and the multiple-choice builders cut contexts, "
      "continuations and recalled words at spaces, so the multiple-choice sets have no Chinese "
      "items (and no Chinese distractors).\n")
    w("Source units read: manual pages " + ", ".join(f"{k} {v}" for k, v in index["sources"]["manual_pages"].items())
      + "; fortune entries " + ", ".join(f"{k} {v}" for k, v in index["sources"]["fortune_entries"].items()) + ".\n")
    w("## Licences (summarised from each package's `/usr/share/doc/<package>/copyright`)\n")
    for name, text in LICENCES:
        w(f"- **{name}**: {text}")
    w("\nThe documents here are excerpts of these works, reformatted (rendered to plain text, "
      "split into paragraphs, recombined). They remain under the licences of their sources "
      "(mostly GPL-2+ / GPL-3+), not under the licence of the cusprun code. Each document's "
      "`source` field names its package and page or fortune file.\n")
    w("## Splits\n")
    w(f"Every corpus has a `score` split (relevance scoring, and the demo model's training "
      f"data) and a `heldout` split (evaluation only). A manual page is keyed by "
      f"`section/name`, the same key in every language; a fortune by its text. A key is "
      f"held out when `sha256(\"{index['seed']}|\" + key)` falls in the lowest "
      f"{index['heldout_fraction']:.0%}, so the splits are disjoint by page (including its "
      f"translations) and by fortune. At most two documents are taken per page (its "
      f"beginning and one other part). Documents are {MIN_CHARS}-{MAX_CHARS} characters.\n")
    w("## Corpora\n")
    w("| corpus | what | split | documents | characters | bytes |\n|---|---|---|---|---|---|")
    what = {"language": "manual pages and fortunes in one language",
            "technical": f"manual pages, all {len(LANGS)} languages",
            "literary": "fortunes (quotes, jokes, poems, anecdotes), "
                        + "/".join(l for l in LANGS if l in FORTUNE_PACKAGES),
            "continuation": "plain prose paragraphs (man pages and fortunes), all languages",
            "qa": "question/answer from each page's NAME line + start of its description",
            "general": "all languages, both domains (prose; no QA)"}
    for c in index["corpora"]:
        rel = f"{c['dimension']}/{c['name']}" if c["dimension"] != "general" else "general"
        for split in ("score", "heldout"):
            e = c[split]
            size = os.path.getsize(os.path.join(out, e["path"]))
            desc = what.get(c["name"], what.get(c["dimension"], ""))
            w(f"| `{rel}` | {desc if split == 'score' else ''} | {split} | {e['documents']} | {e['chars']} | {size} |")
    w("\n## Evaluation files (`eval/`, from held-out units only)\n")
    w("| file | kind | items | what |\n|---|---|---|---|")
    for e in index["eval"]:
        w(f"| `{e['path']}` | {e['kind']} | {e['documents']} | {e['what']} |")
    w("\nMultiple choice items are `{\"context\": ..., \"choices\": [4 strings], \"answer\": i}`; "
      "score each choice by the log-likelihood of the choice given the context.\n")
    t = index["train"]
    size = os.path.getsize(os.path.join(out, t["path"]))
    w("## Training corpus\n")
    w(f"`{t['path']}`: {t['documents']} documents, {t['chars']} characters, {size} bytes: "
      f"the union of all score splits and the other documents of the score manual pages "
      f"(see `train/README.md`).\n")
    with open(os.path.join(out, "SOURCES.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
