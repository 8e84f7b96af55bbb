"""The provider toolkit: what a provider (built-in or third-party) or a front-end may use besides
the contract in the package root. Every name here is public and kept stable like the root's;
everything else in ``imageworks_core`` is private (a test checks that providers, the GUI, the
test plugin and the examples import nothing else).

Names resolve lazily (nothing is imported until used), so a provider may import its helpers at
module level without slowing the CLI's start-up. ``KIT`` maps every name to its one-line purpose;
``python -c "import imageworks_core.kit as k; k.describe()"`` prints them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_getattr

# name -> (defining module, or module:attribute for an alias; what it is for). Keep the
# TYPE_CHECKING block below in step (a test checks both agree).
KIT: dict[str, tuple[str, str]] = {
    # -- discovery: files -> variants -> registry, in one call
    "discover": ("discovery", "run named providers' discovery, register what they found, return a DiscoveryReport"),
    "collect_variants": ("discovery", "ask named providers for variants without registering them"),
    "DiscoveryReport": ("discovery", "what a discovery run found, added, updated and warned about"),
    "under": ("discovery", "is a path inside one of these roots (the scope of a rediscovery)"),
    "gguf_variants": ("model_files", "the Variants of the GGUF files in a folder (sets, shards, projectors)"),
    "folder_variant": ("model_files", "the Variant of a folder of non-GGUF weights (format, quant, capabilities)"),
    "has_weights": ("model_files", "do these file names include weights"),
    "default_backend": ("model_files", "the serving backend a format gets by default (and the location's own)"),
    "location_label": ("model_files", "the configured location label holding a path, or None"),
    "fork_map": ("forked", "[fn(item) for item in items] shared with a forked child on a second core (CPU-bound walks)"),
    "with_aggregate": ("fileset", "a Variant with its files' sizes and aggregate sha256 filled in"),
    "register_variants": ("registry.register", "merge Variants into the discovered layer inside a transaction"),
    "variant_entry": ("registry.register", "the Entry a Variant becomes under a given name"),
    "Change": ("registry.register", "what registering a Variant did (name, added or updated)"),
    # -- facts from file headers, without reading weights
    "read_gguf_info": ("detect", "a GGUF file's header facts (architecture, quant, basename, projector)"),
    "GGUFInfo": ("detect", "what read_gguf_info returns"),
    "GGUFHeaderError": ("detect", "raised for a file that is not a readable GGUF"),
    "detect_folder": ("detect", "a folder's format, quantisation and capabilities from its config files"),
    "FolderFacts": ("detect", "what detect_folder returns"),
    "CONFIG_FILES": ("detect.folder", "the config and tokenizer file names a loader reads"),
    "weight_format": ("detect.files", "the weight format a file name is (safetensors, gguf, bin...), or None"),
    "is_shared_file": ("detect.files", "is a file one every variant of a repo needs (configs, tokenizer, code)"),
    "is_optional": ("detect.files", "is a file optional for loading (README, licence, images, docs)"),
    "gguf_sets": ("detect", "group GGUF file names into models (shards together, projectors apart)"),
    "quant_label_from_filename": ("detect", "the quantisation label in a file name (Q4_K_M ...), or None"),
    # -- names and identities
    "slug": ("registry.naming", "a name part in registry form (lower case, dashes)"),
    "strip_format_tokens": ("registry.naming", "a model name without its format and quant words"),
    "family_from_repo": ("registry.naming", "owner/repo[@revision] -> family"),
    "family_from_file": ("registry.naming", "a loose GGUF file (header basename/size label or file name) -> family"),
    "copy_identity": ("registry.naming", "the identity of one copy of a model (provider + path)"),
    "utc_now": ("registry.store", "the registry's timestamp format, now"),
    "read_layer": ("registry.layers", "read one registry layer file (a backup, say) into entries"),
    "MergedView": ("registry.merge", "the merged registry as Registry.load() returns it"),
    "find_registry_dir": ("registry.store", "the registry directory the commands would use"),
    # -- files
    "sha256_of": ("hashing", "a file's sha256 (the core's one read loop)"),
    "place_file": ("linking", "put a file at a path by hard link, symlink or verified copy; idempotent"),
    "aligned_buffer": ("buffers", "a page-aligned writable buffer for large reads"),
    "human_bytes": ("units", "1234567 -> '1.2 MB'"),
    # -- deleting, only inside the configured roots
    "safe_delete": ("safety", "delete a file or folder inside the roots, never following a symlink"),
    "delete_entry_files": ("safety", "delete an entry's listed files (the default remove), keeping shared ones"),
    "entry_roots": ("safety", "the roots an entry's files may be deleted under"),
    "check_paths": ("safety", "raise UnsafePathError unless every path lies inside the roots"),
    "prune_empty_parents": ("safety", "remove folders a deletion left empty, up to a root"),
    # -- downloads
    "acquire": ("acquire", "run the download hook for a DownloadRequest, log and register the result"),
    "Acquired": ("acquire", "what acquire returns (the DownloadResult and the registry change)"),
    # -- commands: options, reports, the session
    "session_from": ("cli.base", "the Session of a click command (registry, settings, plugins, log)"),
    "dry_run_option": ("cli.base", "click option --dry-run"),
    "json_option": ("cli.base", "click option --json"),
    "report_options": ("cli.reports", "click options --details and --json of a discovery report"),
    "print_report": ("cli.reports", "print a DiscoveryReport as a table or JSON"),
    "print_table": ("cli.base", "print rows as a table (rich)"),
    "emit_json": ("cli.base", "print data as JSON on stdout"),
    "warn_printer": ("cli.base", "a Context.on_warning that prints 'warning: item: reason'"),
    "confirm_or_refuse": ("cli.base", "ask y/N, or refuse without a terminal unless forced"),
    "location_label_of": ("cli.reports", "the label of a --location value (a configured label, or custom)"),
    # -- secrets
    "redact": ("eventlog", "a value with every known secret replaced by ***"),
    "add_secret": ("eventlog", "make a secret value (a token) known, so no log line or message shows it"),
    # -- front-ends (the GUI, the test plugin)
    "program": ("programs", "the click group of imageworks-download or imageworks-loader"),
    "run_main": ("programs", "run a program on sys.argv as its installed script does"),
    "ListFilter": ("inventory", "the filters of the list command"),
    "select_entries": ("inventory:select", "the names a ListFilter keeps, in list order"),
    "entry_rows": ("inventory:as_json", "entries as list --json rows"),
    "registry_stats": ("inventory:stats", "the numbers the stats command prints"),
    "role_rows": ("inventory:roles", "the rows of list-roles"),
    "entry_copies": ("inventory:visibility", "each installed entry's copies of the same model (linked, same inode or sha256)"),
    "disk_usage": ("inventory", "stats with the dedupe and cleanup dry-run plans, grouped by store"),
    # -- real paths (identities of copies; local_scan and hf use them while walking)
    # -- names from a hub, a lock file or a person: untrusted input, one set of rules
    "repo_id_problem": ("hub_names", "why a repo id is not owner/name (or None)"),
    "revision_problem": ("hub_names", "why a revision name is unsafe (or None)"),
    "unsafe_path_reason": ("hub_names", "why a listed file path is unsafe to write (or None)"),
    "size_problem": ("hub_names", "why a declared file size is not a sane non-negative int (or None)"),
    "same_file": ("realpaths", "are two paths one file (same device and inode)"),
    "real_path": ("realpaths", "os.path.realpath with a cache of resolved parents"),
    "not_a_link": ("realpaths", "is a path (and its parents) free of symlinks"),
    # -- listings a link loop cannot cut short
    "file_names": ("listing", "a folder's file names (links to files count), sorted"),
    "is_file_entry": ("listing", "os.DirEntry.is_file(), False for a link that cannot be followed"),
    "is_dir_entry": ("listing", "os.DirEntry.is_dir(), False for a link that cannot be followed"),
}

__all__ = sorted(KIT)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .discovery import DiscoveryReport, collect_variants, discover, under
    from .model_files import (default_backend, folder_variant, gguf_variants, has_weights, location_label)
    from .fileset import with_aggregate
    from .forked import fork_map
    from .registry.register import Change, register_variants, variant_entry
    from .detect import (FolderFacts, GGUFHeaderError, GGUFInfo, detect_folder, gguf_sets, quant_label_from_filename,
                         read_gguf_info)
    from .registry.naming import copy_identity, family_from_file, family_from_repo, slug, strip_format_tokens
    from .registry.store import find_registry_dir, utc_now
    from .registry.layers import read_layer
    from .registry.merge import MergedView
    from .hashing import sha256_of
    from .linking import place_file
    from .buffers import aligned_buffer
    from .units import human_bytes
    from .safety import check_paths, delete_entry_files, entry_roots, prune_empty_parents, safe_delete
    from .acquire import Acquired, acquire
    from .cli.base import (confirm_or_refuse, dry_run_option, emit_json, json_option, print_table, session_from,
                           warn_printer)
    from .cli.reports import location_label_of, print_report, report_options
    from .eventlog import add_secret, redact
    from .programs import program, run_main
    from .inventory import ListFilter, disk_usage
    from .inventory import visibility as entry_copies
    from .inventory import as_json as entry_rows, roles as role_rows, select as select_entries, stats as registry_stats
    from .realpaths import not_a_link, real_path, same_file
    from .listing import file_names, is_dir_entry, is_file_entry
    from .hub_names import repo_id_problem, revision_problem, size_problem, unsafe_path_reason
    from .detect.folder import CONFIG_FILES
    from .detect.files import is_optional, is_shared_file, weight_format


def describe() -> None:
    """Print every toolkit name with its purpose."""
    width = max(map(len, KIT))
    for name in sorted(KIT):
        print(f"{name:<{width}}  {KIT[name][1]}")


__getattr__ = lazy_getattr(__name__, globals(), {name: module for name, (module, _doc) in KIT.items()})
