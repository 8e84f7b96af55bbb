"""ImageWorks model manager: the landing page."""

import streamlit as st

st.set_page_config(page_title="ImageWorks models", page_icon="🎯", layout="wide")
st.title("ImageWorks model manager")
st.markdown(
    "Download, discover and keep one registry of your local models. "
    "Open **🎯 Models** in the sidebar: every action there shows the exact CLI command it runs."
)
st.page_link("pages/2_🎯_Models.py", label="Open the Models page", icon="🎯")
