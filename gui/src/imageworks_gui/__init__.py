"""The Streamlit GUI: every action runs the same core code as the CLI and shows its command line."""
